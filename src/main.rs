//! Entry point: the Lambda runtime loop when started by Lambda with no arguments, else the CLI.

// The lambda_runtime service stack nests deeply enough to pass the default query depth.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tag_warden::config::{Config, EXIT_INVALID};
use tag_warden::run::handler::{Handler, HandlerError};
use tag_warden::run::sweep::Deadline;
use tag_warden::view::metrics::Metrics;
use tag_warden::view::report::Report;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    if args.len() == 1 && std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda();
    }
    tag_warden::cli::main(args)
}

/// Cold start: configuration and clients once, then the runtime loop.
fn lambda() -> ExitCode {
    tag_warden::logging::init(std::io::stdout, false, tracing::level_filters::LevelFilter::INFO);
    let config = match Config::from_env(&|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "{}", e.start_up());
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let backend = tag_warden::cli::aws_backend(&config).await;
        let handler = Arc::new(Handler::new(backend, config));
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
            let handler = Arc::clone(&handler);
            async move {
                let deadline = lambda_deadline(event.context.deadline);
                let (result, metrics) = handler.invoke(&event.payload, deadline).await;
                write_emf(&metrics, &handler.config().outputs.namespace);
                result
                    .map(|mut r: Report| {
                        r.fit(MAX_RESPONSE_BYTES);
                        r
                    })
                    .map_err(diagnostic)
            }
        }))
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the Lambda runtime loop ended");
            ExitCode::FAILURE
        }
    }
}

/// The failed invocation as Lambda reports it: the error's fixed type (`TagWarden.…`, searchable
/// in CloudWatch) and its message.
fn diagnostic(e: HandlerError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().as_str().to_owned(),
        error_message: e.to_string(),
    }
}

/// Writes the invocation's metrics on stdout as EMF lines, beside (never inside) the log
/// records: CloudWatch Logs extracts the metrics.
fn write_emf(metrics: &Metrics, namespace: &str) {
    if let Err(e) = metrics.write_emf(
        &mut std::io::stdout().lock(),
        namespace,
        tag_warden::run::resource::now_ms(),
    ) {
        tracing::warn!(error = %e, "cannot write the metrics");
    }
}

/// Lambda's limit on a response is 6 MB; the report is kept below it with room to spare.
const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

/// The invocation's deadline on this process's clock.
fn lambda_deadline(deadline_ms: u64) -> Deadline {
    tracing::debug!(deadline_ms, "invocation deadline");
    Deadline::from_runtime(deadline_ms, SystemTime::now(), Instant::now())
}
