//! Fuzzing the untrusted inputs: the event parser and the policy loader get arbitrary bytes and
//! structural mutations of the real samples (events/, policies/) and of the hostile seeds in
//! fuzz/corpus/. Nothing may panic, and every input is answered quickly with a value or an
//! error. `make test` runs FUZZ_CASES=2000 per target; `make fuzz` runs 100,000. Failures
//! found are kept in fuzz/regressions/ and replayed first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tag_warden::domain::{is_reserved_key, ResourceKind, Tags};
use tag_warden::engine::evaluate::evaluate;
use tag_warden::engine::intake::{intake, intake_bytes, IntakeOptions};
use tag_warden::engine::policy;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000)
}

fn config(target: &'static str) -> Config {
    eprintln!("fuzz target {target}: {} cases", cases());
    Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(Box::leak(
            format!("{}/fuzz/regressions/{target}.txt", env!("CARGO_MANIFEST_DIR")).into_boxed_str(),
        )))),
        ..Config::default()
    }
}

/// Every seed document: the sample events, the shipped policies, the hostile corpus.
fn corpus() -> Vec<String> {
    let mut docs = Vec::new();
    for dir in ["events", "policies", "fuzz/corpus"] {
        let mut paths: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        docs.extend(paths.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    }
    docs
}

/// One structural change to a JSON document.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    Duplicate(usize),
    Nest(usize, u8),
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("arn:aws:secretsmanager:us-east-1:123456789012:secret:x"),
            Just("aws:cloudformation:stack-name"),
            Just("kms.amazonaws.com"),
            Just("secretsmanager.amazonaws.com"),
            Just("TagResource"),
            Just("AWS API Call via CloudTrail"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
        (1usize..200_000).prop_map(|n| Value::String("x".repeat(n))),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, d)| Mutation::Nest(i, d)),
    ]
}

/// The `n`-th node (pre-order, modulo the count) of `v`, mutably.
fn node(v: &mut Value, n: usize) -> &mut Value {
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(v: &mut Value, mut n: usize) -> Result<&mut Value, usize> {
        if n == 0 {
            return Ok(v);
        }
        n -= 1;
        let children: Vec<&mut Value> = match v {
            Value::Array(a) => a.iter_mut().collect(),
            Value::Object(o) => o.values_mut().collect(),
            _ => return Err(n),
        };
        for child in children {
            match walk(child, n) {
                Ok(found) => return Ok(found),
                Err(rest) => n = rest,
            }
        }
        Err(n)
    }
    let total = count(v);
    let target = n % total;
    match walk(v, target) {
        Ok(found) => found,
        Err(_) => unreachable!("target < count"),
    }
}

fn apply(doc: &mut Value, m: &Mutation) {
    match m {
        Mutation::Replace(i, new) => *node(doc, *i) = new.clone(),
        Mutation::Remove(i) => match node(doc, *i) {
            Value::Object(o) if !o.is_empty() => {
                let key = o.keys().nth(i % o.len()).cloned().unwrap();
                o.remove(&key);
            }
            Value::Array(a) if !a.is_empty() => {
                a.remove(i % a.len());
            }
            other => *other = Value::Null,
        },
        Mutation::Duplicate(i) => {
            let n = node(doc, *i);
            let copy = n.clone();
            *n = Value::Array(vec![copy.clone(), copy]);
        }
        Mutation::Nest(i, depth) => {
            let n = node(doc, *i);
            let mut v = n.take();
            for _ in 0..(*depth % 64) {
                v = Value::Array(vec![v]);
            }
            *n = v;
        }
    }
}

fn opts() -> IntakeOptions {
    IntakeOptions {
        own: Some(tag_warden::domain::Identity {
            account: "123456789012".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/tag-warden-role/tag-warden".into(),
        }),
        ignore_principals: vec![policy::Glob::new("arn:aws:iam::*:role/*")],
        remember_trusted: true,
        member_role: Some("tag-warden-member".into()),
        member_accounts: None,
    }
}

/// Each input is answered within this time (a debug build on a shared 2-core machine)...
const QUICK: Duration = Duration::from_millis(500);

/// ...plus a microsecond per byte of input: mutations can build documents of megabytes (a
/// 200,000-character string duplicated), which a linear parser reads in a debug build at about
/// 0.2 µs a byte, while a quadratic one would take minutes. The bound checks the growth, not
/// the machine's speed under load.
fn quick(bytes: usize) -> Duration {
    QUICK + Duration::from_micros(u64::try_from(bytes).unwrap_or(u64::MAX))
}

proptest! {
    #![proptest_config(config("intake-bytes"))]
    #[test]
    fn the_event_parser_answers_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let started = Instant::now();
        let _ = intake_bytes(&bytes, &opts());
        prop_assert!(started.elapsed() < QUICK);
    }
}

proptest! {
    #![proptest_config(config("intake-mutations"))]
    #[test]
    fn the_event_parser_answers_mutated_real_events(seed in any::<usize>(), mutations in prop::collection::vec(mutation(), 0..6)) {
        let docs = corpus();
        let Ok(mut doc) = serde_json::from_str::<Value>(&docs[seed % docs.len()]) else { return Ok(()) };
        for m in &mutations {
            apply(&mut doc, m);
        }
        let size = doc.to_string().len();
        let started = Instant::now();
        if let Ok(items) = intake(&doc, &opts()) {
            for item in items.into_iter().flatten() {
                use tag_warden::engine::intake::Intake;
                if let Intake::Trigger(t) | Intake::Trusted(t, _) = item {
                    prop_assert!(!t.resource_id.is_empty() && t.resource_id.chars().count() <= 2048);
                    prop_assert!(!t.region.is_empty());
                }
            }
        }
        let took = started.elapsed();
        prop_assert!(took < quick(size), "{:?} for {} bytes", took, size);
    }
}

proptest! {
    #![proptest_config(config("policy-text"))]
    #[test]
    fn the_policy_loader_answers_any_text(text in ".{0,512}") {
        let started = Instant::now();
        let _ = policy::parse(&text);
        prop_assert!(started.elapsed() < QUICK);
    }
}

proptest! {
    #![proptest_config(config("policy-mutations"))]
    #[test]
    fn the_policy_loader_answers_mutated_policies_and_what_it_accepts_is_safe(
        seed in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 0..6),
        tags in prop::collection::btree_map(prop_oneof![".{1,8}", Just("aws:x".to_owned()), Just("Owner".to_owned())], ".{0,8}", 0..60),
    ) {
        let docs = corpus();
        let Ok(mut doc) = serde_json::from_str::<Value>(&docs[seed % docs.len()]) else { return Ok(()) };
        for m in &mutations {
            apply(&mut doc, m);
        }
        let text = doc.to_string();
        let started = Instant::now();
        let parsed = policy::parse(&text);
        let took = started.elapsed();
        prop_assert!(took < quick(text.len()), "{:?} for {} bytes", took, text.len());
        if let Ok(p) = parsed {
            // Whatever policy validates, its plans never touch aws: keys, never add a key
            // they remove, and never take a resource past 50 user tags by adding.
            let tags: Tags = tags;
            for kind in ResourceKind::ALL {
                let e = evaluate(&p, &tag_warden::domain::ResourceContext::new(kind), &tags);
                prop_assert!(e.plan.untag.iter().chain(e.plan.tag.keys()).all(|k| !is_reserved_key(k)));
                prop_assert!(e.plan.untag.iter().all(|k| !e.plan.tag.contains_key(k)));
                let after = tags.keys().filter(|k| !is_reserved_key(k) && !e.plan.untag.contains(k)).count()
                    + e.plan.tag.keys().filter(|k| !tags.contains_key(*k)).count();
                let before = tags.keys().filter(|k| !is_reserved_key(k)).count();
                prop_assert!(after <= 50 || after <= before);
            }
        }
    }
}

/// A JSON value for a field that real events hold as a string: sometimes a plausible string,
/// sometimes another type.
fn field() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["secretsmanager", "kms", "secret", "key", "ec2", ""]).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
        Just(serde_json::json!({})),
        Just(serde_json::json!([])),
    ]
}

proptest! {
    #![proptest_config(config("tag-change"))]
    #[test]
    fn tag_change_events_of_any_shape_are_answered_with_a_valid_trigger_or_an_error(
        service in field(), resource_type in field(), region in field(),
        resources in prop::collection::vec(prop_oneof![
            "arn:aws:(secretsmanager|kms):[a-z0-9-]{0,12}:[0-9]{0,12}:.{0,40}".prop_map(Value::from),
            field(),
        ], 0..4),
        tags in prop::collection::btree_map(".{0,20}", field(), 0..6),
    ) {
        let event = serde_json::json!({
            "version": "0", "id": "x", "detail-type": "Tag Change on Resource", "source": "aws.tag",
            "account": "123456789012", "region": region, "resources": resources,
            "detail": {"service": service, "resource-type": resource_type, "version": 1, "tags": tags,
                       "changed-tag-keys": ["Owner"]}
        });
        let started = Instant::now();
        let items = intake(&event, &opts()).unwrap();
        prop_assert_eq!(items.len(), 1);
        if let Some(Ok(tag_warden::engine::intake::Intake::Trigger(t))) = items.first() {
            prop_assert!(t.resource_id.starts_with("arn:") && t.resource_id.chars().count() <= 2048);
            prop_assert!(!t.region.is_empty());
            prop_assert_eq!(t.event.source.as_deref(), Some("aws.tag"));
        }
        prop_assert!(started.elapsed() < QUICK);
    }
}

proptest! {
    #![proptest_config(config("policy-yaml-text"))]
    #[test]
    fn the_policy_loader_answers_any_yaml_text(text in "(\\PC|\n){0,512}") {
        let started = Instant::now();
        let _ = policy::parse_as(&text, policy::Format::Yaml);
        let _ = policy::parse_as(&text, policy::Format::Detect);
        prop_assert!(started.elapsed() < QUICK);
    }
}

proptest! {
    #![proptest_config(config("policy-v2-mutations"))]
    #[test]
    fn version_2_policies_mutated_load_or_fail_the_same_as_json_and_as_yaml(
        seed in any::<usize>(), mutations in prop::collection::vec(mutation(), 0..6),
    ) {
        let mut docs: Vec<Value> = corpus().iter().filter_map(|d| serde_json::from_str::<Value>(d).ok()).collect();
        let v2 = std::fs::read_to_string(root().join("policies/example-v2.yaml")).unwrap();
        docs.push(serde_yaml::from_str(&v2).unwrap());
        let mut doc = docs[seed % docs.len()].clone();
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("version".into(), Value::from(2));
        }
        for m in &mutations {
            apply(&mut doc, m);
        }
        // Each parse is timed alone: writing the YAML (serde_yaml, the test's own tool) is not
        // the loader's time.
        let json = doc.to_string();
        let started = Instant::now();
        let as_json = policy::parse_as(&json, policy::Format::Json);
        let took = started.elapsed();
        prop_assert!(took < quick(json.len()), "JSON: {:?} for {} bytes", took, json.len());
        let yaml = serde_yaml::to_string(&doc).unwrap();
        let started = Instant::now();
        let as_yaml = policy::parse_as(&yaml, policy::Format::Yaml);
        let took = started.elapsed();
        prop_assert!(took < quick(yaml.len()), "YAML: {:?} for {} bytes", took, yaml.len());
        // A text over the size limit is refused whichever way it is written, and the other
        // spelling of the same document may fall on the other side of the limit.
        let too_big = |text: &str, r: &Result<policy::Policy, policy::PolicyErrors>| {
            text.len() > policy::MAX_POLICY_BYTES && r.as_ref().is_err_and(|e| e.0.len() == 1 && e.0[0].message.contains("more than the"))
        };
        if json.len() > policy::MAX_POLICY_BYTES || yaml.len() > policy::MAX_POLICY_BYTES {
            prop_assert!(too_big(&json, &as_json) || too_big(&yaml, &as_yaml));
            return Ok(());
        }
        // The same document means the same policy whichever way it is written: both load, or
        // both fail, with the same problems once the text itself was read.
        prop_assert_eq!(as_json.is_ok(), as_yaml.is_ok(), "{} vs {}", doc, yaml);
        let unreadable = |e: &policy::PolicyErrors| e.0.iter().any(|p| p.path.is_empty() && p.message.starts_with("not valid"));
        if let (Err(a), Err(b)) = (&as_json, &as_yaml) {
            if !unreadable(a) && !unreadable(b) {
                prop_assert_eq!(&a.0, &b.0);
            }
        }
    }
}
