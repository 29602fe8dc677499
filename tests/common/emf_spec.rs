//! A checker of the CloudWatch Embedded Metric Format specification, for tests: the unit tests
//! (`src/view/metrics_tests.rs`, through `#[path]`) and the end-to-end ones read what the code
//! writes with it. It knows only the specification, nothing of tag-warden.
//!
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use serde_json::Value;

/// Units a metric may name (CloudWatch's `StandardUnit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks one log line as an EMF document; the error says which rule it breaks.
pub fn check_line(line: &str) -> Result<Value, String> {
    let doc: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    check(&doc)?;
    Ok(doc)
}

/// The EMF documents among `text`'s lines (those that start as one does), each checked; a
/// line that breaks the specification panics with the rule it breaks.
pub fn documents(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| l.starts_with("{\"_aws\":"))
        .map(|l| check_line(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Checks a parsed EMF document.
pub fn check(doc: &Value) -> Result<(), String> {
    let root = doc.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no `_aws` metadata object")?;
    let ts = aws.get("Timestamp").ok_or("`_aws.Timestamp` is missing")?;
    if !ts.is_u64() {
        return Err("`_aws.Timestamp` is not milliseconds since the epoch".into());
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("`_aws.CloudWatchMetrics` is not an array")?;
    for d in directives {
        let d = d.as_object().ok_or("a metric directive is not an object")?;
        let ns = d
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("a directive has no Namespace")?;
        if ns.is_empty() || ns.len() > 255 || ns.starts_with("AWS/") {
            return Err(format!("bad namespace `{ns}`"));
        }
        let sets = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("Dimensions is not an array")?;
        for set in sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err("a dimension set has more than 30 keys".into());
            }
            for key in set {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                match root.get(key) {
                    Some(Value::String(v)) if !v.is_empty() && v.len() <= 1024 => {}
                    Some(_) => return Err(format!("dimension `{key}` is not a string of 1 to 1024 characters")),
                    None => return Err(format!("dimension `{key}` is not a member of the root")),
                }
            }
        }
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err("a directive has more than 100 metrics".into());
        }
        for m in metrics {
            let m = m.as_object().ok_or("a metric definition is not an object")?;
            let name = m.get("Name").and_then(Value::as_str).ok_or("a metric has no Name")?;
            if name.is_empty() || name.len() > 1024 {
                return Err(format!("bad metric name `{name}`"));
            }
            if let Some(unit) = m.get("Unit") {
                let unit = unit.as_str().ok_or("a Unit is not a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("unit `{unit}` is not a CloudWatch unit"));
                }
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(vs)) if vs.len() <= 100 && vs.iter().all(Value::is_number) => {}
                Some(_) => {
                    return Err(format!(
                        "metric `{name}` is not a number or an array of at most 100 numbers"
                    ))
                }
                None => return Err(format!("metric `{name}` is not a member of the root")),
            }
        }
    }
    Ok(())
}

/// The value of metric `name` in the documents of `namespace` whose dimensions are exactly
/// `dims` (name, value); summed over documents.
pub fn value(docs: &[Value], namespace: &str, dims: &[(&str, &str)], name: &str) -> Option<f64> {
    let mut found = None;
    for doc in docs {
        let Some(directives) = doc["_aws"]["CloudWatchMetrics"].as_array() else {
            continue;
        };
        for d in directives {
            if d["Namespace"] != namespace {
                continue;
            }
            let Some(sets) = d["Dimensions"].as_array() else {
                continue;
            };
            let matches = sets.iter().any(|set| {
                let keys: Vec<&str> = set
                    .as_array()
                    .map(|s| s.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                keys.len() == dims.len() && dims.iter().all(|(k, v)| keys.contains(k) && doc[*k] == *v)
            });
            let named = d["Metrics"]
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["Name"] == name));
            if matches && named {
                *found.get_or_insert(0.0) += doc[name].as_f64().unwrap_or(0.0);
            }
        }
    }
    found
}
