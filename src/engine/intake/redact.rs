//! Redaction of secret material wherever an event is echoed (logs at any level).

use serde_json::Value;

/// What replaces a redacted value.
pub const REDACTED: &str = "**redacted**";

/// Fields that can carry a secret's value in CloudTrail records and SDK shapes.
fn is_secret_field(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "secretstring" || k == "secretbinary"
}

/// A copy of `event` with every secret-bearing field, at any depth, replaced.
pub fn redacted(event: &Value) -> Value {
    match event {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_field(k) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redacted(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_fields_are_redacted_at_any_depth_and_in_any_case() {
        let event = json!({"detail": {"requestParameters": {
            "secretString": "canary-1", "SecretBinary": "Y2FuYXJ5LTI=",
            "nested": [{"secretstring": {"even": "objects"}}], "name": "db"
        }}});
        let text = redacted(&event).to_string();
        assert!(!text.contains("canary"), "{text}");
        assert!(!text.contains("Y2FuYXJ5"), "{text}");
        assert!(!text.contains("objects"), "{text}");
        assert!(text.contains("\"name\":\"db\""), "{text}");
    }
}
