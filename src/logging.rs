//! Logging set-up, shared by Lambda (default level `info`) and the CLI (default `warn`: its
//! output is the report or the table): the same environment as
//! `lambda_runtime::tracing::init_default_subscriber` (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`,
//! else `info`; JSON lines when `AWS_LAMBDA_LOG_FORMAT=JSON`, or `TAG_WARDEN_LOG_FORMAT=json` where
//! Lambda's logging config cannot be set, as with `cargo lambda deploy`), plus one guard: lambda_runtime
//! logs each raw invocation payload at TRACE, and a payload can carry a `secretString`, so
//! its targets are capped at DEBUG whatever is asked for, by a second filter on targets alone
//! that every event must pass as well, which span
//! directives (`RUST_LOG='[Lambda runtime invoke]=trace'`, which enable every event inside the
//! span, whatever its target) cannot lift.

use tracing::level_filters::LevelFilter;
use tracing::Subscriber;
use tracing_subscriber::filter::{FilterExt, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The runtime's targets, capped at DEBUG whatever a filter directive says.
pub const RUNTIME_TARGETS: [&str; 2] = ["lambda_runtime", "lambda_runtime_api_client"];

/// Builds the subscriber from an environment lookup, writing to `writer` (with colours only
/// when `ansi`: never in CloudWatch or a pipe).
pub fn subscriber<W>(
    env: &dyn Fn(&str) -> Option<String>,
    writer: W,
    ansi: bool,
    default: LevelFilter,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = env("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| env("RUST_LOG"))
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(default);
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .parse_lossy(env("RUST_LOG").unwrap_or_default());
    // The runtime's targets (`lambda_runtime::layers::api_response` logs raw payloads at TRACE)
    // capped by a filter of its own, which no directive above can lift.
    let cap = RUNTIME_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, target| {
            t.with_target(*target, LevelFilter::DEBUG)
        });
    let filter = filter.and(cap);
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_ansi(ansi)
        .with_writer(writer);
    let format = env("AWS_LAMBDA_LOG_FORMAT").or_else(|| env("TAG_WARDEN_LOG_FORMAT"));
    let registry = tracing_subscriber::registry();
    if format.is_some_and(|f| f.eq_ignore_ascii_case("json")) {
        Box::new(registry.with(layer.json().with_filter(filter)))
    } else {
        Box::new(registry.with(layer.with_filter(filter)))
    }
}

/// Installs the subscriber globally (once per process), at `default` level unless the
/// environment names one.
pub fn init<W>(writer: W, ansi: bool, default: LevelFilter)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let env = |k: &str| std::env::var(k).ok();
    // Fails only if a subscriber is already installed, in which case that one stays.
    let _ = tracing::subscriber::set_global_default(subscriber(&env, writer, ansi, default));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn captured(vars: &[(&str, &str)]) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let sub = subscriber(&env, move || writer.clone(), false, LevelFilter::INFO);
        tracing::subscriber::with_default(sub, || {
            tracing::trace!(target: "lambda_runtime::layers::api_response", body = "secretString=canary-7d1f", "raw JSON event received from Lambda");
            // As lambda_runtime logs it: inside its invocation span, which a span directive
            // (`[Lambda runtime invoke]=trace`) can enable whatever the target's level.
            let span = tracing::info_span!(target: "lambda_runtime", "Lambda runtime invoke", requestId = "r-1");
            span.in_scope(|| {
                tracing::trace!(target: "lambda_runtime::layers::api_response", body = "secretString=canary-7d1f", "raw JSON event received from Lambda");
            });
            tracing::trace!(target: "tag_warden::handler", "visible-trace-line");
            tracing::info!(outcome = "remediated", "resource outcome");
        });
        let bytes = capture.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn raw_payloads_are_never_logged_even_at_trace() {
        for vars in [
            vec![("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
            vec![("RUST_LOG", "trace")],
            vec![("RUST_LOG", "lambda_runtime=trace")],
            vec![("AWS_LAMBDA_LOG_LEVEL", "TRACE"), ("AWS_LAMBDA_LOG_FORMAT", "JSON")],
            // Span directives: before, these enabled the raw payload inside the span.
            vec![("RUST_LOG", "[Lambda runtime invoke]=trace")],
            vec![("RUST_LOG", "trace,[Lambda runtime invoke]=trace,[{requestId}]=trace")],
            vec![(
                "RUST_LOG",
                "lambda_runtime::layers::api_response[Lambda runtime invoke]=trace",
            )],
        ] {
            let out = captured(&vars);
            assert!(!out.contains("canary-7d1f"), "{vars:?}: {out}");
            if vars[0].1.eq_ignore_ascii_case("trace") {
                assert!(
                    out.contains("visible-trace-line"),
                    "{vars:?}: trace works elsewhere: {out}"
                );
            }
        }
    }

    #[test]
    fn level_defaults_to_info_and_json_format_is_honoured() {
        let out = captured(&[]);
        assert!(
            out.contains("resource outcome") && !out.contains("visible-trace-line"),
            "{out}"
        );
        for format in ["AWS_LAMBDA_LOG_FORMAT", "TAG_WARDEN_LOG_FORMAT"] {
            let out = captured(&[(format, "JSON")]);
            let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
            assert_eq!(line["fields"]["outcome"], "remediated", "{format}");
        }
    }
}
