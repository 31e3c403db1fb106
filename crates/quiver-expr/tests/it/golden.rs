//! Data-driven golden tests in the style of raft-rs's `datadriven`: each file under
//! `tests/golden/` holds cases of the form
//!
//! ```text
//! command [key=value ...]
//! expression (one or more lines)
//! ----
//! expected output (up to a blank line)
//! ```
//!
//! Commands: `parse` prints the syntax tree, `check` the typed plan (and `pk: [...]` when
//! the filter is a key lookup), `eval` the matching rows of the fixed data set of
//! `quiver_expr::fuzz`. Errors print as `error: <message>`. Keys: `schema=rich|static|strpk`
//! (default `rich`), `params=<JSON object>` (integers are Int64, other numbers Float, arrays
//! Array, `{"json": v}` a JSON value), and the `Limits` fields (`max_depth=3`, ...).
//!
//! `UPDATE_GOLDEN=1 cargo test -p quiver-expr --test it golden` rewrites the files with the
//! actual output; review the diff before committing. Without it any difference fails.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quiver_expr::{Limits, TemplateValue, compile, parse};

use crate::support::{static_schema, string_pk_schema};

struct Case {
    /// Comment lines (`#`) before the case, kept when the file is rewritten.
    comments: String,
    /// 1-based line of the command.
    line: usize,
    command: String,
    input: String,
    expected: String,
}

fn parse_file(text: &str) -> Vec<Case> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = Vec::new();
    let mut comments = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with('#') {
            comments.push_str(line);
            comments.push('\n');
        }
        if line.trim().is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let command = line.to_owned();
        i += 1;
        let mut input = Vec::new();
        while i < lines.len() && lines[i] != "----" {
            input.push(lines[i]);
            i += 1;
        }
        assert!(i < lines.len(), "case at line {} has no `----`", start + 1);
        i += 1;
        let mut expected = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() {
            expected.push(lines[i]);
            i += 1;
        }
        cases.push(Case {
            comments: std::mem::take(&mut comments),
            line: start + 1,
            command,
            input: input.join("\n"),
            expected: expected.join("\n"),
        });
    }
    cases
}

fn template_value(json: &serde_json::Value) -> TemplateValue {
    match json {
        serde_json::Value::Bool(v) => TemplateValue::Bool(*v),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(v) => TemplateValue::Int64(v),
            None => TemplateValue::Float(n.as_f64().expect("finite")),
        },
        serde_json::Value::String(s) => TemplateValue::String(s.clone()),
        serde_json::Value::Array(items) => {
            TemplateValue::Array(items.iter().map(template_value).collect())
        }
        serde_json::Value::Object(map) => match map.get("json") {
            Some(v) if map.len() == 1 => TemplateValue::Json(v.clone()),
            _ => panic!("template objects are written {{\"json\": value}}"),
        },
        serde_json::Value::Null => panic!("null is not a template value"),
    }
}

fn run(case: &Case) -> String {
    let mut words = case.command.splitn(2, ' ');
    let command = words.next().unwrap_or_default();
    let mut rest = words.next().unwrap_or_default().trim();
    let mut limits = Limits::default();
    let mut schema_name = "rich";
    let mut params = HashMap::new();
    while !rest.is_empty() {
        let (arg, tail) = if rest.starts_with("params=") {
            (rest, "")
        } else {
            rest.split_once(' ').unwrap_or((rest, ""))
        };
        rest = tail.trim();
        let (key, value) = arg.split_once('=').expect("arguments are key=value");
        let number = || value.parse::<usize>().expect("a limit is a number");
        match key {
            "schema" => schema_name = value,
            "params" => {
                let json: serde_json::Value = serde_json::from_str(value).expect("params JSON");
                let object = json.as_object().expect("params is a JSON object");
                params = object.iter().map(|(k, v)| (k.clone(), template_value(v))).collect();
            }
            "max_expr_len" => limits.max_expr_len = number(),
            "max_depth" => limits.max_depth = number(),
            "max_list_len" => limits.max_list_len = number(),
            "max_path_depth" => limits.max_path_depth = number(),
            "max_string_len" => limits.max_string_len = number(),
            "max_template_params" => limits.max_template_params = number(),
            other => panic!("unknown argument {other}"),
        }
    }
    let schema = match schema_name {
        "rich" => quiver_expr::fuzz::fuzz_schema(),
        "static" => static_schema(),
        "strpk" => string_pk_schema(),
        other => panic!("unknown schema {other}"),
    };
    match command {
        "parse" => match parse(&case.input, &limits) {
            Ok(expr) => expr.to_string(),
            Err(e) => format!("error: {e}"),
        },
        "check" => match compile(&case.input, &params, schema, &limits) {
            Ok(plan) => {
                let mut out = plan.to_string();
                if let Some(pks) = plan.pk_values() {
                    let pks: Vec<String> = pks.iter().map(ToString::to_string).collect();
                    write!(out, "\npk: [{}]", pks.join(", ")).expect("write to a string");
                }
                out
            }
            Err(e) => format!("error: {e}"),
        },
        "eval" => {
            let schema = quiver_expr::fuzz::fuzz_schema();
            let (columns, num_rows) = quiver_expr::fuzz::fuzz_columns();
            match compile(&case.input, &params, schema, &limits) {
                Ok(plan) => match plan.evaluate(columns, num_rows) {
                    Ok(bits) => {
                        let rows: Vec<String> = bits.iter().map(|r| r.to_string()).collect();
                        format!("rows: [{}]", rows.join(" "))
                    }
                    Err(e) => format!("eval error: {e}"),
                },
                Err(e) => format!("error: {e}"),
            }
        }
        other => panic!("unknown command {other}"),
    }
}

fn golden_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
}

fn render(cases: &[(Case, String)]) -> String {
    let mut out = String::new();
    for (case, actual) in cases {
        write!(out, "{}{}\n{}\n----\n{}\n\n", case.comments, case.command, case.input, actual)
            .expect("write to a string");
    }
    out
}

#[test]
fn golden() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut total = 0;
    for path in golden_files() {
        let text = std::fs::read_to_string(&path).expect("readable golden file");
        let cases = parse_file(&text);
        total += cases.len();
        let mut results = Vec::new();
        for case in cases {
            let actual = run(&case);
            if actual != case.expected {
                failures.push(format!(
                    "{}:{}: {}\n{}\n--- expected\n{}\n--- actual\n{}\n",
                    path.display(),
                    case.line,
                    case.command,
                    case.input,
                    case.expected,
                    actual
                ));
            }
            results.push((case, actual));
        }
        if update {
            std::fs::write(&path, render(&results)).expect("writable golden file");
        }
    }
    assert!(total >= 120, "the golden files hold {total} cases; keep at least 120");
    if !update && !failures.is_empty() {
        panic!("{} golden case(s) differ:\n\n{}", failures.len(), failures.join("\n"));
    }
}
