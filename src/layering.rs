//! The module graph is a DAG, read top-down (see README "Layout"): a module names only the
//! layers below it. This test reads every `crate::` path under `src/` (outside comments) and
//! fails on an edge that goes up or sideways.

use std::collections::BTreeSet;
use std::path::Path;

/// Bottom first; a module may name the modules of the layers below its own.
const LAYERS: &[&[&str]] = &[
    &["domain", "secrets"],
    &["config", "metrics"],
    &["live"],
    &["store"],
    &["service"],
    &["api", "cli"],
    &["net", "telemetry"],
    &["app"],
];

/// Edges the layers would allow but the design does not: the adapters speak to the service
/// only, the store gets its own options (not the clap `Config`), and the two leaves name
/// nothing of ours but the domain.
const FORBIDDEN: &[(&str, &str)] = &[
    ("api", "store"),
    ("api", "live"),
    ("cli", "store"),
    ("cli", "live"),
    ("store", "config"),
    ("store", "metrics"),
    ("live", "config"),
    ("live", "metrics"),
    ("metrics", "domain"),
    ("metrics", "secrets"),
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules a file names with `crate::…` (also `use crate::{a, b::c}`).
fn named_modules(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Names at the group's first level: `a`, `b` of `{a, b::c, d::{e}}`.
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 && c == ',' {
                    found.extend(first_ident(&item));
                    item.clear();
                } else {
                    item.push(c);
                }
            }
            found.extend(first_ident(&item));
        } else {
            found.extend(first_ident(rest));
        }
    }
    found
}

fn first_ident(text: &str) -> Option<String> {
    let ident: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty() && ident != "self").then_some(ident)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_names_one_above_it_or_beside_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut seen = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|name| name.trim_end_matches(".rs").to_owned())
            .expect("a file name");
        if ["main", "lib", "layering"].contains(&top.as_str()) {
            continue;
        }
        let own = layer(&top).unwrap_or_else(|| panic!("{top} is in no layer of LAYERS"));
        let source = std::fs::read_to_string(file).expect("a readable source file");
        for named in named_modules(&source) {
            seen += 1;
            let theirs = layer(&named).unwrap_or_else(|| panic!("{named} is in no layer"));
            if named != top
                && (theirs >= own || FORBIDDEN.contains(&(top.as_str(), named.as_str())))
            {
                wrong.push(format!("{}: names crate::{named}", relative.display()));
            }
        }
    }
    assert!(
        seen > 50,
        "read too few crate:: paths ({seen}): is the parser broken?"
    );
    assert!(
        wrong.is_empty(),
        "edges against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_reader_finds_grouped_and_plain_paths_but_not_comments() {
    let found = named_modules(
        "use crate::{api::x, store::{A, B}, self};\nlet a = crate::live::f();\n// crate::app\n",
    );
    let names: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(names, ["api", "live", "store"]);
}
