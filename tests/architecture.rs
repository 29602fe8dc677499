//! ARCHITECTURE.md's rule, checked: imports only go down the layers. Every `crate::…` path in
//! a source file (outside its `#[cfg(test)]` part; test-only files are left out) must name
//! its own layer or one below it, and the pure core must name no SDK, async runtime or
//! environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

/// The layers, ground up; a unit may import units of its own rank or lower.
const LAYERS: &[(&str, usize)] = &[
    ("logging", 0),
    ("domain", 1),
    ("engine", 2),
    ("ports", 3),
    ("adapters", 4),
    ("run", 5),
    ("cli", 6),
    ("main", 7),
];

fn rank(unit: &str) -> usize {
    LAYERS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, r)| *r)
        .unwrap_or_else(|| panic!("`{unit}` is in no layer: add it to ARCHITECTURE.md and LAYERS"))
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
fn imports_only_go_down_the_layers() {
    let mut wrong = Vec::new();
    for (file, unit, used) in imports() {
        for u in used {
            if rank(&u) > rank(&unit) {
                wrong.push(format!("{file} ({unit}) imports {u}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports running up a layer:\n{}", wrong.join("\n"));
}

#[test]
fn the_pure_core_names_no_sdk_runtime_or_environment() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src.join("engine"), &mut files);
    sources(&src.join("domain"), &mut files);
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
    assert!(run_imports_engine);
    assert!(all
        .iter()
        .any(|(_, unit, used)| unit == "main" && used.iter().any(|u| u == "run")));
}
