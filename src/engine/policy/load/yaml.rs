//! YAML policy text → the JSON value the loader walks, so YAML and JSON share every check.
//! yaml-rust2: maintained, pure Rust, YAML 1.2 (serde_yaml, the usual choice, is archived).
//! Its syntax errors carry their line and column.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::{ScanError, Yaml, YamlLoader};

/// The document as a JSON value, or why it is not a YAML document the loader can take.
/// Anchors and aliases are refused before anything is built: yaml-rust2's loader expands an
/// alias into a copy of its anchor, so a few hundred bytes of nested aliases (a "billion
/// laughs") would otherwise become gigabytes.
pub(super) fn to_json(text: &str) -> Result<Value, String> {
    no_anchors(text)?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| syntax(&e))?;
    match &docs[..] {
        [doc] => convert(doc, "", 0),
        [] => Err("not valid YAML: the document is empty".to_owned()),
        _ => Err("not valid YAML: one document expected, found several (`---`)".to_owned()),
    }
}

fn syntax(e: &ScanError) -> String {
    let m = e.marker();
    format!(
        "not valid YAML: {} at line {} column {}",
        e.info(),
        m.line(),
        m.col() + 1
    )
}

/// Walks the parser's events (nothing is built, so nothing is expanded) and refuses the first
/// anchor (`&name`) or alias (`*name`), naming it and where it is.
fn no_anchors(text: &str) -> Result<(), String> {
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| syntax(&e))?;
        let what = match event {
            Event::StreamEnd => return Ok(()),
            Event::Alias(_) => "an alias",
            Event::Scalar(_, _, anchor, _) | Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                if anchor > 0 =>
            {
                "an anchor"
            }
            _ => continue,
        };
        // The marker is at the node (an anchor comes before it) or at the alias: the name is
        // the nearest sigil's word.
        let sigil = if what == "an alias" { '*' } else { '&' };
        let before: Vec<char> = text.chars().take(mark.index().saturating_add(1)).collect();
        let name: String = before
            .iter()
            .rposition(|c| *c == sigil)
            .map(|at| {
                text.chars()
                    .skip(at)
                    .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
                    .take(64)
                    .collect()
            })
            .unwrap_or_default();
        return Err(format!(
            "not accepted: YAML anchors and aliases (found {what}{}, at line {} column {}); write each value out",
            if name.is_empty() {
                String::new()
            } else {
                format!(" `{name}`")
            },
            mark.line(),
            mark.col() + 1
        ));
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

    #[test]
    fn anchors_and_aliases_are_refused_before_anything_is_expanded() {
        let e = to_json("base: &b {Owner: {default: x}}\nrules: [{name: r, require: *b}]\n").unwrap_err();
        assert!(e.contains("an anchor `&b`") && e.contains("line 1"), "{e}");
        let e = to_json("a: *nothing\n").unwrap_err();
        assert!(e.contains("alias") || e.contains("YAML"), "{e}");
        // A "billion laughs": nine levels of nine aliases would be 9^9 strings once expanded.
        let mut bomb = String::from("a: &a [\"lol\"]\n");
        for (i, c) in ('b'..='j').enumerate() {
            let prev = char::from(b'a' + i as u8);
            let refs = vec![format!("*{prev}"); 9].join(", ");
            bomb.push_str(&format!("{c}: &{c} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let e = to_json(&bomb).unwrap_err();
        assert!(e.contains("anchor"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }
}
