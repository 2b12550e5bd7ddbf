//! The deployment files agree with the settings the app reads: Dockerfile, .dockerignore,
//! docker-compose.yml and .env.example: no Docker, no database. docker-compose.yml is read with
//! a YAML crate, .dockerignore's patterns with a glob crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::Cli;
use crate::support::Config;
use clap::{CommandFactory, FromArgMatches};
use globset::GlobBuilder;
use serde_yaml_ng::Value as Yaml;

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn read(name: &str) -> String {
    let path = root().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---- what the app reads -------------------------------------------------------------------------

pub(crate) struct Setting {
    /// The long flag, to check a default by parsing it.
    long: String,
    /// The app's own default, as clap renders it.
    pub(crate) default: Option<String>,
}

/// Every environment variable the app reads, from its clap definitions (subcommands included).
pub(crate) fn app_settings() -> BTreeMap<String, Setting> {
    fn walk(cmd: &clap::Command, out: &mut BTreeMap<String, Setting>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                let name = env.to_str().expect("variable names are UTF-8").to_owned();
                let setting = Setting {
                    long: arg
                        .get_long()
                        .unwrap_or_else(|| panic!("{name} has no long flag"))
                        .to_owned(),
                    default: arg
                        .get_default_values()
                        .first()
                        .map(|v| v.to_string_lossy().into_owned()),
                };
                out.insert(name, setting);
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut settings = BTreeMap::new();
    walk(&Config::command(), &mut settings);
    walk(&Cli::command(), &mut settings);
    for known in [
        "DATABASE_URL",
        "BIND_ADDR",
        "SHUTDOWN_TIMEOUT_SECS",
        "LOG_FORMAT",
    ] {
        assert!(
            settings.contains_key(known),
            "clap no longer reports {known}: {:?}",
            settings.keys()
        );
    }
    settings
}

/// Parses these values as the app would (flags only: this process's environment is ignored).
fn parse_config(values: &BTreeMap<&str, String>) -> Result<Config, clap::Error> {
    let settings = app_settings();
    let mut cmd = Config::command();
    let ids: Vec<clap::Id> = cmd.get_arguments().map(|a| a.get_id().clone()).collect();
    for id in ids {
        cmd = cmd.mut_arg(id, |a| a.env(None::<&str>));
    }
    let mut argv = vec!["agentprofile".to_owned()];
    for (name, value) in values {
        argv.push(format!("--{}={value}", settings[*name].long));
    }
    let matches = cmd.try_get_matches_from(argv)?;
    Config::from_arg_matches(&matches)
}

// ---- docker-compose.yml, read with a YAML crate ------------------------------------------------

fn compose() -> Yaml {
    serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML")
}

/// Follows a chain of mapping keys from the top of the document (Null where one is missing).
pub(crate) fn path<'a>(doc: &'a Yaml, keys: &[&str]) -> &'a Yaml {
    keys.iter()
        .fold(doc, |v, k| v.get(*k).unwrap_or(&Yaml::Null))
}

/// A scalar as text (numbers and booleans as written), else "".
pub(crate) fn text(value: &Yaml) -> String {
    match value {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A mapping's entries as text; an `environment:` may also be a list of `KEY=value`.
pub(crate) fn mapping(value: &Yaml) -> BTreeMap<String, String> {
    match value {
        Yaml::Mapping(m) => m.iter().map(|(k, v)| (text(k), text(v))).collect(),
        Yaml::Sequence(items) => items
            .iter()
            .filter_map(|i| {
                let item = text(i);
                let (k, v) = item.split_once('=')?;
                Some((k.to_owned(), v.to_owned()))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The items of a list, as text.
pub(crate) fn list(value: &Yaml) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| items.iter().map(text).collect())
        .unwrap_or_default()
}

/// Every `key: value` pair of the document, at any depth, and `KEY=value` list items.
fn pairs(value: &Yaml, out: &mut Vec<(String, String)>) {
    match value {
        Yaml::Mapping(m) => {
            for (k, v) in m {
                if !matches!(v, Yaml::Mapping(_) | Yaml::Sequence(_)) {
                    out.push((text(k), text(v)));
                }
                pairs(v, out);
            }
        }
        Yaml::Sequence(items) => {
            for item in items {
                if let Some((k, v)) = text(item).split_once('=') {
                    out.push((k.to_owned(), v.to_owned()));
                }
                pairs(item, out);
            }
        }
        _ => {}
    }
}

/// `${NAME}`, `${NAME:-default}` or `${NAME-default}` as the whole value: the name and the default.
pub(crate) fn interpolation(value: &str) -> Option<(&str, Option<&str>)> {
    let inner = value.strip_prefix("${")?.strip_suffix('}')?;
    if inner.contains(['$', '}']) {
        return None;
    }
    match inner.find([':', '-']) {
        None => Some((inner, None)),
        Some(i) => {
            let rest = &inner[i..];
            let default = rest.strip_prefix(":-").or_else(|| rest.strip_prefix('-'))?;
            Some((&inner[..i], Some(default)))
        }
    }
}

/// Seconds in a compose duration such as `30s`, `1m30s` or `90`.
pub(crate) fn duration_secs(value: &str) -> u64 {
    let (mut total, mut number) = (0, String::new());
    for c in value.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number
            .parse()
            .unwrap_or_else(|_| panic!("bad duration {value:?}"));
        number.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => panic!("unsupported duration {value:?}"),
        };
    }
    if !number.is_empty() {
        total += number.parse::<u64>().unwrap();
    }
    total
}

#[test]
fn compose_helpers_read_what_they_claim() {
    let src =
        "a:\n  b: \"x # y\" # note\n  # c: 1\n  list:\n    - \"1:2\"\n  env:\n    - K=v\nz: 1\n";
    let doc: Yaml = serde_yaml_ng::from_str(src).unwrap();
    assert_eq!(
        mapping(path(&doc, &["a"])).get("b").map(String::as_str),
        Some("x # y")
    );
    assert!(!mapping(path(&doc, &["a"])).contains_key("c"));
    assert_eq!(list(path(&doc, &["a", "list"])), ["1:2"]);
    assert_eq!(mapping(path(&doc, &["a", "env"]))["K"], "v");
    assert_eq!(text(path(&doc, &["z"])), "1");
    assert_eq!(interpolation("${A:-x:y}"), Some(("A", Some("x:y"))));
    assert_eq!(interpolation("${A}"), Some(("A", None)));
    assert_eq!(interpolation("x${A}"), None);
    assert_eq!(duration_secs("1m30s"), 90);
}

/// Compose defaults that differ from the app's own on purpose.
const COMPOSE_OVERRIDES: [(&str, &str); 2] = [("LOG_FORMAT", "json"), ("DEMO_SEED", "false")];
/// Settings compose fixes instead of passing through.
const COMPOSE_FIXED: [&str; 2] = ["DATABASE_URL", "BIND_ADDR"];
/// What the database driver reads (as libpq does) for what DATABASE_URL leaves out, and the
/// postgres service's variable each must come from, so both containers get the same values.
const DRIVER_VARS: [(&str, &str); 3] = [
    ("PGUSER", "POSTGRES_USER"),
    ("PGPASSWORD", "POSTGRES_PASSWORD"),
    ("PGDATABASE", "POSTGRES_DB"),
];

#[test]
fn compose_app_environment_sets_every_setting() {
    let doc = compose();
    let env = mapping(path(&doc, &["services", "app", "environment"]));
    let settings = app_settings();

    for key in env.keys() {
        assert!(
            settings.contains_key(key) || DRIVER_VARS.iter().any(|(v, _)| v == key),
            "app environment sets {key}, which the app does not read"
        );
    }
    let mut defaults = BTreeMap::new();
    for (name, setting) in &settings {
        let value = env
            .get(name.as_str())
            .unwrap_or_else(|| panic!("docker-compose.yml: app environment lacks {name}"));
        if COMPOSE_FIXED.contains(&name.as_str()) {
            continue;
        }
        let (var, default) = interpolation(value).unwrap_or_else(|| {
            panic!("{name}: {value:?} is not ${{{name}:-default}}, so it cannot be set")
        });
        assert_eq!(var, name, "{name} is read from another variable");
        let default =
            default.unwrap_or_else(|| panic!("{name}: give a default, as ${{{name}:-...}}"));
        let expected = COMPOSE_OVERRIDES
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_string())
            // A setting without a default (METRICS_TOKEN) is passed through empty: unset.
            .or_else(|| Some(setting.default.clone().unwrap_or_default()));
        assert_eq!(
            Some(default.to_owned()),
            expected,
            "{name}: compose's default differs from the app's (list it in COMPOSE_OVERRIDES if on purpose)"
        );
        defaults.insert(name.as_str(), default.to_owned());
    }

    assert_eq!(
        env["BIND_ADDR"], "0.0.0.0:8080",
        "the container must listen on every interface"
    );
    // The host alone: a password inside the URL would have to be percent-encoded there, and
    // the postgres service gets the same variable unencoded.
    let url = &env["DATABASE_URL"];
    assert_eq!(
        url, "postgres://postgres:5432",
        "DATABASE_URL names the host only; the credentials come from PGUSER, PGPASSWORD, PGDATABASE"
    );
    let pg_env = mapping(path(&doc, &["services", "postgres", "environment"]));
    for (driver, var) in DRIVER_VARS {
        let value = &pg_env[var];
        assert!(
            interpolation(value).is_some_and(|(n, d)| n == var && d.is_some()),
            "postgres {var}: {value:?} must be ${{{var}:-default}}"
        );
        assert_eq!(
            env.get(driver),
            Some(value),
            "app {driver} must be {value}, as the postgres service's {var}"
        );
    }

    // The defaults, with compose's fixed values, make a configuration the app accepts.
    defaults.insert("DATABASE_URL", "postgres://u:p@postgres:5432/db".into());
    defaults.insert("BIND_ADDR", env["BIND_ADDR"].clone());
    let config = parse_config(&defaults)
        .unwrap_or_else(|e| panic!("the app refuses compose's defaults: {e}"));
    assert!(config.is_postgres());
    assert_eq!(config.bind_addr.port(), 8080);

    // Stopping: SIGTERM, SHUTDOWN_TIMEOUT_SECS of draining, then SIGKILL.
    let grace = text(path(&doc, &["services", "app", "stop_grace_period"]));
    let grace = interpolation(&grace).and_then(|(_, d)| d).unwrap_or(&grace);
    assert!(
        duration_secs(grace) > config.shutdown_timeout_secs,
        "stop_grace_period {grace} must exceed SHUTDOWN_TIMEOUT_SECS ({})",
        config.shutdown_timeout_secs
    );
}

#[test]
fn compose_services_are_wired_together() {
    let doc = compose();

    // The official image unless POSTGRES_IMAGE names another (deploy/test builds one).
    let image = text(path(&doc, &["services", "postgres", "image"]));
    assert!(
        interpolation(&image).is_some_and(
            |(n, d)| n == "POSTGRES_IMAGE" && d.is_some_and(|d| d.starts_with("postgres:16"))
        ),
        "postgres image: {image}"
    );
    let pg_health = path(&doc, &["services", "postgres", "healthcheck", "test"]);
    assert!(
        format!("{pg_health:?}").contains("pg_isready"),
        "postgres healthcheck must use pg_isready"
    );
    let pg_volumes = list(path(&doc, &["services", "postgres", "volumes"]));
    let volume = pg_volumes
        .iter()
        .find_map(|v| v.strip_suffix(":/var/lib/postgresql/data"))
        .expect("postgres data on a volume");
    assert!(
        path(&doc, &["volumes"]).get(volume).is_some(),
        "volume {volume} is not declared"
    );

    assert_eq!(text(path(&doc, &["services", "app", "build"])), ".");
    let condition = path(
        &doc,
        &["services", "app", "depends_on", "postgres", "condition"],
    );
    assert_eq!(text(condition), "service_healthy");
    let restart = text(path(&doc, &["services", "app", "restart"]));
    assert_eq!(restart, "unless-stopped");

    let ports = list(path(&doc, &["services", "app", "ports"]));
    assert_eq!(
        ports,
        ["${BIND_HOST:-127.0.0.1}:${PORT:-8080}:8080"],
        "publish the container's 8080 on ${{PORT:-8080}}, on the loopback unless BIND_HOST says otherwise"
    );

    let check = path(&doc, &["services", "app", "healthcheck", "test"]);
    let test = format!("{} {:?}", text(check), list(check));
    assert!(
        test.contains("http://127.0.0.1:8080/readyz"),
        "app healthcheck must GET /readyz: {test}"
    );

    let mut all = Vec::new();
    pairs(&doc, &mut all);
    for (key, value) in all {
        if key.contains("PASSWORD") || key.contains("SECRET") || key.contains("TOKEN") {
            assert!(
                interpolation(&value).is_some(),
                "docker-compose.yml: {key} is hard-coded; use ${{{key}:-dev-default}}"
            );
        }
    }
}

// ---- .env.example -------------------------------------------------------------------------------

/// The names an env file sets or documents: `NAME=value` lines, commented out or not.
fn env_file_names(src: &str) -> BTreeSet<&str> {
    src.lines()
        .map(|l| l.trim_start().trim_start_matches('#').trim_start())
        .filter_map(|l| l.strip_prefix("export ").unwrap_or(l).split_once('='))
        .map(|(name, _)| name.trim())
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect()
}

#[test]
fn env_file_reader_reads_what_it_claims() {
    let names = env_file_names("# intro: a=b\nA=1\n# B=2\nexport C=3\n# Example: D=4\n");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["A", "B", "C"]);
}

#[test]
fn env_example_lists_every_setting() {
    let path = root().join(".env.example");
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): it documents every setting",
            path.display()
        )
    });
    let listed = env_file_names(&src);
    let missing: Vec<String> = app_settings()
        .into_keys()
        .filter(|n| !listed.contains(n.as_str()))
        .collect();
    assert!(missing.is_empty(), ".env.example lacks {missing:?}");
}

// ---- Dockerfile ---------------------------------------------------------------------------------

#[derive(Debug)]
struct Instruction {
    line: usize,
    op: String,
    args: String,
}

/// Instructions with continuation lines joined and comments dropped.
fn dockerfile() -> Vec<Instruction> {
    let src = read("Dockerfile");
    let mut out: Vec<Instruction> = Vec::new();
    let mut continuing = false;
    for (i, raw) in src.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (text, more) = match line.strip_suffix('\\') {
            Some(t) => (t.trim_end(), true),
            None => (line, false),
        };
        if continuing {
            let last = out.last_mut().unwrap();
            last.args.push(' ');
            last.args.push_str(text);
        } else {
            let (op, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            out.push(Instruction {
                line: i + 1,
                op: op.to_ascii_uppercase(),
                args: args.trim().to_owned(),
            });
        }
        continuing = more;
    }
    out
}

fn position(
    instructions: &[Instruction],
    what: &str,
    pred: impl Fn(&Instruction) -> bool,
) -> usize {
    instructions
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("Dockerfile: no {what}"))
}

#[test]
fn dockerfile_builds_from_the_lock_file_before_running_as_non_root() {
    let all = dockerfile();
    let froms: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, i)| i.op == "FROM")
        .map(|(n, _)| n)
        .collect();
    assert!(froms.len() >= 2, "Dockerfile must be multi-stage");
    let (builder_from, runtime_from) = (&all[froms[0]], &all[*froms.last().unwrap()]);
    assert!(
        builder_from.args.starts_with("rust:"),
        "builder: {}",
        builder_from.args
    );
    let builder_name = builder_from.args.rsplit(' ').next().unwrap();
    assert!(
        builder_from.args.to_ascii_lowercase().contains(" as "),
        "name the builder stage"
    );
    // The binary links glibc dynamically: build on the runtime's Debian release.
    assert!(builder_from.args.contains("bookworm") && runtime_from.args.contains("bookworm"));
    assert_eq!(runtime_from.args, "debian:bookworm-slim");

    // Builds: every one from the lock file; a dependency-only one first, the real one last.
    let builds: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, i)| i.op == "RUN" && i.args.contains("cargo build"))
        .map(|(n, _)| n)
        .collect();
    assert!(
        builds.len() >= 2,
        "a dependency-only build, then the real one"
    );
    for &b in &builds {
        let args = &all[b].args;
        assert!(
            args.contains("--locked") && args.contains("--release"),
            "Dockerfile:{}: {args}",
            all[b].line
        );
    }
    let (deps, real) = (builds[0], *builds.last().unwrap());
    assert!(
        real < froms[1],
        "the release build belongs to the builder stage"
    );
    let copy_lock = position(&all, "COPY of Cargo.lock", |i| {
        i.op == "COPY" && i.args.contains("Cargo.lock")
    });
    let copy_src = position(&all, "COPY of src", |i| {
        i.op == "COPY" && i.args.starts_with("src ")
    });
    let copy_migrations = position(&all, "COPY of migrations", |i| {
        i.op == "COPY" && i.args.starts_with("migrations ")
    });
    assert!(copy_lock < deps, "Cargo.lock before the dependency build");
    assert!(
        deps < copy_src,
        "src/ after the dependency build, or the cache layer is useless"
    );
    assert!(
        deps < copy_migrations && copy_migrations < real,
        "sqlx::migrate! needs migrations/ at build time"
    );
    assert!(copy_src < real);
    let touch = position(&all, "touch src/main.rs", |i| {
        i.op == "RUN" && i.args.contains("touch src/main.rs")
    });
    assert!(
        copy_src < touch && touch <= real,
        "touch src/main.rs after COPY src, or cargo keeps the dummy"
    );
    if touch == real {
        let args = &all[real].args;
        assert!(
            args.find("touch src/main.rs") < args.find("cargo build"),
            "touch before the build: {args}"
        );
    }

    // The runtime stage.
    let runtime = &all[*froms.last().unwrap()..];
    let one = |op: &str| -> &Instruction {
        let found: Vec<&Instruction> = runtime.iter().filter(|i| i.op == op).collect();
        assert_eq!(found.len(), 1, "runtime stage: one {op}");
        found[0]
    };
    let user = &one("USER").args;
    let uid = user.split(':').next().unwrap();
    assert!(
        !["", "0", "root"].contains(&uid),
        "runtime must not run as root: USER {user}"
    );
    assert_eq!(one("WORKDIR").args, "/app");
    assert_eq!(one("EXPOSE").args, "8080");
    assert!(
        runtime
            .iter()
            .any(|i| i.op == "ENV" && i.args.contains("BIND_ADDR=0.0.0.0:8080")),
        "runtime stage: ENV BIND_ADDR=0.0.0.0:8080"
    );
    assert_eq!(one("ENTRYPOINT").args, r#"["agentprofile"]"#);
    assert_eq!(one("CMD").args, r#"["serve"]"#);
    let copy_bin = one("COPY");
    assert!(
        copy_bin
            .args
            .starts_with(&format!("--from={builder_name} "))
            && copy_bin.args.contains("target/release/agentprofile"),
        "runtime copies the release binary from the builder: {}",
        copy_bin.args
    );
    assert!(
        runtime.iter().any(|i| i.op == "RUN"
            && i.args.contains("/app/data")
            && i.args.contains(&format!("chown {uid}"))),
        "/app/data (the SQLite default) must be writable by uid {uid}"
    );
    let health = &one("HEALTHCHECK").args;
    assert!(health.contains("/readyz"), "HEALTHCHECK: {health}");
    if health.contains("curl") {
        assert!(
            runtime.iter().any(|i| i.op == "RUN"
                && i.args.contains("apt-get install")
                && i.args.contains(" curl")),
            "HEALTHCHECK uses curl, which the runtime image must install"
        );
    }
}

/// Cargo refuses a manifest whose declared targets are missing, so the dependency-only build
/// (which stubs only src/main.rs and src/lib.rs) must stub any target Cargo.toml declares, and
/// have every workspace member's manifest (Cargo reads the whole workspace) with a stub lib.
#[test]
fn dockerfile_dependency_layer_stubs_every_declared_target() {
    let manifest = read("Cargo.toml");
    let dockerfile = read("Dockerfile");
    let deps_build = dockerfile
        .find("cargo build --release")
        .expect("Dockerfile: no cargo build --release");
    for member in workspace_members(&manifest) {
        let copy = format!("COPY {member}/Cargo.toml");
        let stub = format!("{member}/src/lib.rs");
        assert!(
            dockerfile[..deps_build].contains(&copy) && dockerfile[..deps_build].contains(&stub),
            "workspace member {member}: `{copy}` and a stub {stub} before the dependency build"
        );
    }
    let mut section = String::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
        } else if section.starts_with("[[") {
            if let Some(name) = line
                .strip_prefix("name")
                .map(|r| r.trim_start())
                .and_then(|r| r.strip_prefix('='))
            {
                let name = name.trim().trim_matches(['"', '\'']);
                assert!(
                    dockerfile.contains(name),
                    "Cargo.toml declares {section} {name}: stub it in the Dockerfile's dependency layer"
                );
            }
        }
    }
}

/// `[workspace] members = ["a", "b"]` of a manifest (written on one line).
fn workspace_members(manifest: &str) -> Vec<String> {
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("Cargo.toml: [workspace] members, on one line");
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

// ---- .dockerignore ------------------------------------------------------------------------------

/// `*` and `?` within a path segment, `**` across segments: the patterns .dockerignore uses.
fn glob(pattern: &str, path: &str) -> bool {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .unwrap_or_else(|e| panic!(".dockerignore: bad pattern {pattern:?}: {e}"))
        .compile_matcher()
        .is_match(path)
}

/// Whether .dockerignore leaves `path` out of the build context (a parent's match counts; the
/// last matching pattern wins, and `!` takes a path back in).
fn ignored(patterns: &[String], path: &str) -> bool {
    let mut out = false;
    for pattern in patterns {
        let (keep, p) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern.as_str()),
        };
        let p = p.trim_start_matches('/').trim_end_matches('/');
        let prefixes = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain([path]);
        if prefixes.into_iter().any(|prefix| glob(p, prefix)) {
            out = !keep;
        }
    }
    out
}

fn files_under(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(
                path.strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

#[test]
fn dockerignore_keeps_build_inputs_and_drops_the_rest() {
    let patterns: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let mut inputs = vec!["Cargo.toml".to_owned(), "Cargo.lock".to_owned()];
    files_under(&root().join("src"), &mut inputs);
    files_under(&root().join("migrations"), &mut inputs);
    files_under(&root().join("assets"), &mut inputs);
    assert!(
        inputs.iter().any(|p| p.ends_with(".sql")),
        "no migrations found"
    );
    for input in &inputs {
        assert!(
            !ignored(&patterns, input),
            ".dockerignore drops {input}, which the build needs"
        );
    }
    for dropped in [
        "target/release/agentprofile",
        ".git/HEAD",
        "data/agentprofile.db",
        "agentprofile.db",
        "agentprofile.db-wal",
        "tests/x.db-shm",
        ".env",
    ] {
        assert!(
            ignored(&patterns, dropped),
            ".dockerignore must leave out {dropped}"
        );
    }
}
