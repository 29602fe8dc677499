//! YAML policy text → the JSON value the loader walks, so YAML and JSON share every check.
//! yaml-rust2: maintained, pure Rust, YAML 1.2 (serde_yaml, the usual choice, is archived).
//! Its syntax errors carry their line and column.

use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// The document as a JSON value, or why it is not a YAML document the loader can take.
pub(super) fn to_json(text: &str) -> Result<Value, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!(
            "not valid YAML: {} at line {} column {}",
            e.info(),
            m.line(),
            m.col() + 1
        )
    })?;
    match &docs[..] {
        [doc] => convert(doc, "", 0),
        [] => Err("not valid YAML: the document is empty".to_owned()),
        _ => Err("not valid YAML: one document expected, found several (`---`)".to_owned()),
    }
}

/// As deep as serde_json reads JSON: a policy is never deeper, and the conversion recurses.
const MAX_DEPTH: usize = 128;

fn convert(y: &Yaml, path: &str, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("not valid YAML: nested deeper than {MAX_DEPTH} levels"));
    }
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::Number((*i).into()),
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(text.clone()), Value::Number),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, &format!("{path}/{i}"), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Hash(hash) => {
            let mut map = Map::new();
            for (k, v) in hash {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Real(r) => r.clone(),
                    _ => {
                        return Err(format!(
                            "{}: a mapping key must be text",
                            if path.is_empty() { "/" } else { path }
                        ))
                    }
                };
                let value = convert(
                    v,
                    &format!("{path}/{}", key.replace('~', "~0").replace('/', "~1")),
                    depth + 1,
                )?;
                map.insert(key, value);
            }
            Value::Object(map)
        }
        Yaml::Alias(_) | Yaml::BadValue => {
            return Err(format!(
                "{}: an alias or a value YAML cannot read",
                if path.is_empty() { "/" } else { path }
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_reads_as_the_json_it_means() {
        let v = to_json(
            "# comment\nversion: 2\nrules:\n  - name: r\n    match: { tags: { Env: [prod*, stage], Sandbox: false } }\n    require:\n      CostCenter: { pattern: '^[0-9]{4}$', default: \"0000\" }\n",
        )
        .unwrap();
        assert_eq!(v["version"], 2);
        assert_eq!(v["rules"][0]["match"]["tags"]["Env"][1], "stage");
        assert_eq!(v["rules"][0]["match"]["tags"]["Sandbox"], false);
        assert_eq!(
            v["rules"][0]["require"]["CostCenter"]["default"], "0000",
            "quoted stays text"
        );
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let e = to_json("rules:\n  - name: r\n   bad: [\n").unwrap_err();
        assert!(e.contains("line"), "{e}");
        assert!(to_json("").unwrap_err().contains("empty"));
        assert!(to_json("a: 1\n---\nb: 2\n").unwrap_err().contains("one document"));
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(to_json(&deep).unwrap_err().contains("nested deeper"));
    }
}
