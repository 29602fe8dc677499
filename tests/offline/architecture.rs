//! ARCHITECTURE.md's rules, checked: each layer imports only what ARCHITECTURE.md's table says it
//! may (read from the table itself, so the document and the check cannot drift). Every
//! `crate::…` path in a source file (outside its `#[cfg(test)]` part; test-only files are left
//! out) must name its own layer or one the table allows, and the pure core must name no SDK,
//! async runtime or environment. And the docs: every `TAG_WARDEN_*` setting the code reads is
//! documented under `docs/`, and every relative link in the README and `docs/` leads somewhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

/// The layers, ground up, as ARCHITECTURE.md's diagram stacks them ("everything below"; the
/// kinds, one module per kind of resource, sit on the domain;
/// three rooms of layer 4, `adapters`, `config` and `view`, side by side, may not import one
/// another, which the table says).
const ORDER: &[&str] = &[
    "domain", "kinds", "engine", "ports", "adapters", "config", "view", "run", "cli", "main",
];

/// What each layer may import, from ARCHITECTURE.md's table (`| \`layer\` | may import | …`):
/// "nothing of the crate", "everything below", or a list of layers. The `logging` leaf imports
/// nothing and is for `main` and `cli`.
fn allowed() -> std::collections::BTreeMap<String, Vec<String>> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(layer), Some(may)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let layer = layer.trim_matches('`').to_owned();
        if !ORDER.contains(&layer.as_str()) {
            continue;
        }
        let may: Vec<String> = if *may == "nothing of the crate" {
            Vec::new()
        } else if *may == "everything below" {
            let at = ORDER.iter().position(|l| *l == layer).unwrap();
            ORDER[..at]
                .iter()
                .map(|l| l.to_string())
                .chain(["logging".to_owned()])
                .collect()
        } else {
            may.split(',').map(|m| m.trim().trim_matches('`').to_owned()).collect()
        };
        out.insert(layer, may);
    }
    out.insert("logging".to_owned(), Vec::new());
    assert_eq!(
        out.len(),
        ORDER.len() + 1,
        "ARCHITECTURE.md's table names every layer: {out:?}"
    );
    out
}

/// The production source files under `dir` (test-only files left out).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            sources(&path, out);
        } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") && name != "testing.rs" {
            out.push(path);
        }
    }
}

/// The file's text before its `#[cfg(test)] mod … {`, comments dropped.
fn production_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let cut = text.find("#[cfg(test)]\nmod tests {").unwrap_or(text.len());
    text[..cut]
        .lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every file's layer unit and the units it imports.
fn imports() -> Vec<(String, String, Vec<String>)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut out = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        if rel == "lib.rs" {
            continue;
        }
        let unit = rel.split(['/', '.']).next().unwrap().to_owned();
        let text = production_text(&path);
        let prefix = if unit == "main" { "tag_warden::" } else { "crate::" };
        let used: Vec<String> = text
            .match_indices(prefix)
            .map(|(i, _)| {
                text[i + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect();
        out.push((rel, unit, used));
    }
    out
}

#[test]
fn each_layer_imports_only_what_architecture_md_allows() {
    let allowed = allowed();
    let mut wrong = Vec::new();
    for (file, unit, used) in imports() {
        let may = allowed
            .get(&unit)
            .unwrap_or_else(|| panic!("`{unit}` ({file}) is in no layer: add it to ARCHITECTURE.md"));
        for u in used.into_iter().filter(|u| *u != unit && !may.contains(u)) {
            wrong.push(format!(
                "{file} ({unit}) imports {u}, which ARCHITECTURE.md does not allow it"
            ));
        }
    }
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn the_table_forbids_what_the_diagram_does() {
    let allowed = allowed();
    // Sideways and upward imports are not in any list.
    assert!(
        !allowed["run"].contains(&"adapters".to_owned()),
        "run chooses no backend"
    );
    assert!(
        !allowed["adapters"].contains(&"engine".to_owned()),
        "adapters report facts, never decide"
    );
    for (room, others) in [
        ("adapters", ["config", "view"]),
        ("config", ["adapters", "view"]),
        ("view", ["adapters", "config"]),
    ] {
        for other in others {
            assert!(
                !allowed[room].contains(&other.to_owned()),
                "{room} may not import {other}"
            );
        }
    }
    assert!(
        !allowed["view"].contains(&"run".to_owned()),
        "views are below the runners"
    );
    assert!(allowed["domain"].is_empty());
    // The kinds sit on the domain, under the pure core (a layer of their own since issue 33).
    assert_eq!(allowed["kinds"], ["domain"]);
    assert_eq!(allowed["engine"], ["domain", "kinds"]);
    assert!(allowed["main"].contains(&"cli".to_owned()));
}

/// Every `"TAG_WARDEN_…"` string in the production code.
fn settings_read() -> std::collections::BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut out = std::collections::BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("\"TAG_WARDEN_") {
            let name: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn every_setting_the_code_reads_is_documented_under_docs() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let text: String = std::fs::read_dir(&docs)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let settings = settings_read();
    assert!(settings.len() >= 20, "{settings:?}");
    let missing: Vec<&String> = settings.iter().filter(|s| !text.contains(s.as_str())).collect();
    assert!(
        missing.is_empty(),
        "settings read but not documented under docs/: {missing:?}"
    );
}

#[test]
fn every_relative_link_in_the_readme_and_docs_leads_somewhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    pages.extend(std::fs::read_dir(root.join("docs")).unwrap().map(|e| e.unwrap().path()));
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for (i, _) in text.match_indices("](") {
            let target: String = text[i + 2..]
                .chars()
                .take_while(|c| *c != ')' && !c.is_whitespace())
                .collect();
            if target.starts_with("http") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let path = page.parent().unwrap().join(file);
            if !path.exists() {
                broken.push(format!("{}: {target}", page.display()));
                continue;
            }
            if !anchor.is_empty() && path.extension().is_some_and(|e| e == "md") {
                let heads = std::fs::read_to_string(&path).unwrap();
                let found = heads
                    .lines()
                    .filter(|l| l.starts_with('#'))
                    .any(|l| slug(l.trim_start_matches('#')) == anchor);
                if !found {
                    broken.push(format!("{}: {target} (no such heading)", page.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// GitHub's anchor of a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn the_pure_core_and_the_views_name_no_sdk_runtime_environment_or_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src.join("engine"), &mut files);
    sources(&src.join("domain"), &mut files);
    sources(&src.join("kinds"), &mut files);
    sources(&src.join("view"), &mut files);
    for path in files {
        let text = production_text(&path);
        for banned in [
            "aws_sdk_",
            "aws_smithy",
            "aws_config",
            "tokio",
            "std::env",
            "async fn",
            "std::fs",
            "std::net",
            "SystemTime",
            "Instant",
        ] {
            assert!(!text.contains(banned), "{} names `{banned}`", path.display());
        }
    }
}

#[test]
fn the_check_sees_the_imports_it_judges() {
    // A check that found no imports would pass whatever the code did.
    let all = imports();
    let run_imports_engine = all
        .iter()
        .any(|(f, unit, used)| unit == "run" && f.ends_with("resource.rs") && used.iter().any(|u| u == "engine"));
    assert!(!allowed().is_empty());
    assert!(run_imports_engine);
    assert!(all
        .iter()
        .any(|(_, unit, used)| unit == "main" && used.iter().any(|u| u == "run")));
}

#[test]
fn no_production_file_runs_past_500_lines() {
    // One job per room: a file past this has grown a second job (tests go beside their module
    // as `<module>_tests.rs` or `tests.rs`, which `sources` leaves out).
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .map(|p| (p, production_text(p).lines().count()))
        .filter(|(_, n)| *n > 500)
        .map(|(p, n)| format!("{}: {n} lines", p.display()))
        .collect();
    assert!(long.is_empty(), "split these by job: {long:?}");
}

/// The file a `crate::…` path names: the longest prefix of it that is a file of `src`.
fn file_of(src: &Path, path: &[String]) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| {
        let joined = path[..n].join("/");
        [format!("{joined}.rs"), format!("{joined}/mod.rs")]
            .into_iter()
            .find(|candidate| src.join(candidate).is_file())
    })
}

#[test]
fn no_file_imports_round_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
    // Files a parent includes with `#[path = "…"]`: their `super` is that parent's module.
    let mut parent_of: std::collections::BTreeMap<String, String> = Default::default();
    for path in &files {
        let rel = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let dir = Path::new(&rel)
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).unwrap();
        for (i, _) in text.match_indices("#[path = \"") {
            let name = text[i + 10..].split('"').next().unwrap_or("");
            let child = if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            };
            parent_of.insert(child, rel.clone());
        }
    }
    // A file's module path (`run/sweep/mod.rs` → run::sweep).
    let module = |rel: &str| -> Vec<String> {
        let trimmed = rel.trim_end_matches(".rs").trim_end_matches("/mod");
        trimmed.split('/').map(str::to_owned).collect()
    };
    for path in files {
        let rel = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let text = production_text(&path);
        let targets = edges.entry(rel.clone()).or_default();
        // `use crate::a::b::{c, d}`, `super::b::c` and `crate::a::b::c(…)` alike: the path up
        // to the first character that is not part of one.
        let supers = match parent_of.get(&rel) {
            Some(parent) => module(parent),
            None => {
                let mut m = module(&rel);
                m.pop();
                m
            }
        };
        for (prefix, base) in [("crate::", Vec::new()), ("super::", supers)] {
            for (i, _) in text.match_indices(prefix) {
                if prefix == "super::" && text[..i].ends_with("::") {
                    continue;
                }
                let mut path = base.clone();
                path.extend(
                    text[i + prefix.len()..]
                        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                        .next()
                        .unwrap_or("")
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                if let Some(target) = file_of(&src, &path).filter(|t| *t != rel) {
                    targets.insert(target);
                }
            }
        }
    }
    // Depth-first search for a path back to where it started.
    fn circle(
        from: &str,
        at: &str,
        edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        seen: &mut std::collections::BTreeSet<String>,
        trail: &mut Vec<String>,
    ) -> bool {
        for next in edges.get(at).into_iter().flatten() {
            if next == from {
                return true;
            }
            if seen.insert(next.clone()) {
                trail.push(next.clone());
                if circle(from, next, edges, seen, trail) {
                    return true;
                }
                trail.pop();
            }
        }
        false
    }
    let mut found = Vec::new();
    for start in edges.keys() {
        let (mut seen, mut trail) = (Default::default(), vec![start.clone()]);
        if circle(start, start, &edges, &mut seen, &mut trail) {
            found.push(trail.join(" -> "));
        }
    }
    assert!(found.is_empty(), "import circles between files:\n{}", found.join("\n"));
    assert!(
        edges.values().map(|t| t.len()).sum::<usize>() > 100,
        "the check sees the imports"
    );
}

/// The `ResourceKind::Variant` paths in `text` (a variant is capitalised, then lower case:
/// `ResourceKind::ALL` and the methods are not).
fn variants_named(text: &str) -> Vec<String> {
    text.match_indices("ResourceKind::")
        .filter_map(|(at, m)| {
            let rest = &text[at + m.len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            let mut chars = name.chars();
            (chars.next().is_some_and(|c| c.is_ascii_uppercase())
                && chars.next().is_some_and(|c| c.is_ascii_lowercase()))
            .then_some(name)
        })
        .collect()
}

#[test]
fn a_kind_is_named_only_by_its_module_the_registry_and_the_enum() {
    // Issue 33: what is particular to a kind lives in `src/kinds/<kind>.rs`; elsewhere the
    // code asks `kind.spec()`, so the next kind is a module and a line in the registry.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let naming: Vec<String> = files
        .iter()
        .filter(|p| !variants_named(&production_text(p)).is_empty())
        .map(|p| p.strip_prefix(&src).unwrap().to_string_lossy().into_owned())
        .collect();
    let allowed = |f: &str| f == "domain/tags.rs" || f.starts_with("kinds/");
    let outside: Vec<&String> = naming.iter().filter(|f| !allowed(f)).collect();
    assert!(
        outside.is_empty(),
        "these name a ResourceKind variant: ask `kind.spec()`: {outside:?}"
    );
    assert!(naming.len() <= 5, "{naming:?}");
    // The check sees what it judges.
    assert!(naming.contains(&"kinds/mod.rs".to_owned()), "{naming:?}");
    assert_eq!(
        variants_named("ResourceKind::KmsKey, ResourceKind::ALL, ResourceKind::of_arn(a)"),
        ["KmsKey"]
    );
}
