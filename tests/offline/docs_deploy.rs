//! The deploy and CLI steps the docs give, checked against what they name: commands that run as
//! written (SAM's beta flag, the organization's set-up order), parameters that exist, every
//! subcommand documented, one exit-code table.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

fn docs() -> Vec<(String, String)> {
    let mut out = vec![("README.md".to_owned(), read("README.md"))];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
    }
    out
}

fn parameters(template: &str) -> BTreeSet<String> {
    let t: serde_yaml::Value = serde_yaml::from_str(&read(template)).unwrap();
    t["Parameters"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_sam_build_the_docs_give_turns_on_the_rust_beta_feature() {
    // `BuildMethod: rust-cargolambda` is a SAM CLI beta feature: `sam build` alone stops. Every
    // command line (in a code block) that runs it says so.
    let mut seen = 0;
    for (file, text) in docs() {
        for line in text.lines().filter(|l| l.trim_start().starts_with("sam build")) {
            seen += 1;
            assert!(
                line.contains("--beta-features") || line.contains("SAM_CLI_BETA_RUST_CARGO_LAMBDA"),
                "{file}: `{line}`"
            );
        }
    }
    assert!(seen >= 2, "the docs give `sam build`");
}

#[test]
fn the_parameters_the_docs_pass_are_the_stacks_own() {
    let deploy = read("docs/deploy.md");
    let member = parameters("deploy/member.yaml");
    let central = parameters("template.yaml");
    for piece in deploy.split("ParameterKey=").skip(1) {
        let key = piece.split(',').next().unwrap();
        assert!(member.contains(key), "member.yaml has no parameter {key}");
    }
    // Every required member parameter (no default) is passed.
    let m: serde_yaml::Value = serde_yaml::from_str(&read("deploy/member.yaml")).unwrap();
    for (k, v) in m["Parameters"].as_mapping().unwrap() {
        let k = k.as_str().unwrap();
        if v["Default"].is_null() {
            assert!(deploy.contains(&format!("ParameterKey={k},")), "docs do not pass {k}");
        }
    }
    for block in deploy.split("--parameter-overrides").skip(1) {
        let args = block.split("```").next().unwrap();
        for word in args.split_whitespace().filter(|w| w.contains('=')) {
            let key = word.split('=').next().unwrap();
            assert!(central.contains(key), "template.yaml has no parameter {key}");
        }
    }
}

#[test]
fn the_organization_is_set_up_in_the_order_aws_requires() {
    // A service-managed StackSet needs trusted access first, from the management account.
    let deploy = read("docs/deploy.md");
    let trusted = deploy
        .find("activate-organizations-access")
        .expect("trusted access step");
    let stack_set = deploy.find("create-stack-set").expect("StackSet step");
    assert!(trusted < stack_set, "trusted access comes before the StackSet");
    assert!(deploy.contains("register-delegated-administrator"));
    assert!(deploy.contains("OperatorPrincipals"));
    assert!(deploy.contains("tag-warden redrive"));
    assert!(deploy.contains("without the management account"));
}

#[test]
fn the_cargo_lambda_path_says_what_it_lacks_and_how_to_build_arm64() {
    let deploy = read("docs/deploy.md");
    for part in [
        "| the scheduled sweep |",
        "| failure queue",
        "--arm64",
        "Zig",
        "After the first deploy",
    ] {
        assert!(deploy.contains(part), "{part}");
    }
    assert!(!deploy.contains("both give the same function"));
}

/// The subcommands `tag-warden --help` lists.
fn subcommands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    help.split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_subcommand_is_documented_with_help_and_one_exit_code_table() {
    let cli = read("docs/cli.md");
    let commands = subcommands();
    assert!(commands.len() >= 12, "{commands:?}");
    for c in &commands {
        assert!(
            cli.contains(&format!("`tag-warden {c}")),
            "docs/cli.md lacks `tag-warden {c}`"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
            .args([c.as_str(), "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{c} --help");
    }
    for row in ["| 0 |", "| 1 |", "| 2 |"] {
        assert!(cli.contains(row), "the exit-code table has {row}");
    }
    assert!(cli.contains("cargo install --locked --path ."));
    // The first command that touches AWS is a dry run.
    let first_handle = cli.find("tag-warden handle").unwrap();
    assert!(cli[first_handle..].starts_with("tag-warden handle --dry-run"));
    let help = Command::new(env!("CARGO_BIN_EXE_tag-warden"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("without the management account"));
}

/// Every `.rs` file under `dir`, as text.
fn sources(dir: &std::path::Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_row_of_the_threat_model_names_tests_that_exist() {
    let page = read("docs/security.md");
    let mut code = String::new();
    sources(&root().join("src"), &mut code);
    sources(&root().join("tests"), &mut code);
    let rows: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| actor"))
        .collect();
    assert!(rows.len() >= 15, "{} rows", rows.len());
    for row in rows {
        let test = row.trim_end_matches('|').rsplit('|').next().unwrap();
        let names: Vec<&str> = test
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .collect();
        assert!(!names.is_empty(), "a row without a test: {row}");
        for name in names {
            assert!(
                code.contains(&format!("fn {name}(")),
                "docs/security.md names `{name}`, which is no test"
            );
        }
    }
}

/// The cells of a Markdown table row: split on `|` that is neither escaped (`\|`) nor inside a
/// code span.
fn cells(row: &str) -> usize {
    let (mut n, mut code, mut prev) = (0usize, false, ' ');
    for c in row.trim().chars() {
        match c {
            '`' => code = !code,
            '|' if prev != '\\' && !code => n += 1,
            _ => {}
        }
        prev = c;
    }
    n.saturating_sub(1)
}

#[test]
fn every_markdown_table_row_has_as_many_cells_as_its_header() {
    let mut pages = docs();
    pages.push(("ARCHITECTURE.md".to_owned(), read("ARCHITECTURE.md")));
    pages.push((
        "tests/fixtures/aws-docs/README.md".to_owned(),
        read("tests/fixtures/aws-docs/README.md"),
    ));
    pages.push(("bench/RESULTS.md".to_owned(), read("bench/RESULTS.md")));
    let mut wrong = Vec::new();
    let mut tables = 0;
    for (page, text) in &pages {
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i + 1 < lines.len() {
            let (header, rule) = (lines[i].trim(), lines[i + 1].trim());
            if header.starts_with('|') && rule.starts_with("|-") || header.starts_with('|') && rule.starts_with("|:") {
                tables += 1;
                let width = cells(header);
                let mut j = i + 1;
                while j < lines.len() && lines[j].trim().starts_with('|') {
                    let n = cells(lines[j]);
                    if n != width {
                        wrong.push(format!("{page}:{}: {n} cells under a header of {width}", j + 1));
                    }
                    j += 1;
                }
                i = j;
            } else {
                i += 1;
            }
        }
    }
    assert!(tables > 20, "{tables} tables");
    assert!(wrong.is_empty(), "tables that render wrong:\n{}", wrong.join("\n"));
}
