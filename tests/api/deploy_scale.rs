//! The scaled-out deployment's files agree with each other and with the app's settings:
//! deploy/docker-compose.scale.yml, deploy/haproxy/haproxy.cfg, and the images deploy/test
//! builds. No Docker: deploy/test (run by .ci/run) runs them for real.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_yaml_ng::Value as Yaml;

use crate::deploy_files::{app_settings, interpolation, list, mapping, path, read, text};

fn scale() -> Yaml {
    serde_yaml_ng::from_str(&read("deploy/docker-compose.scale.yml"))
        .expect("deploy/docker-compose.scale.yml is YAML")
}

/// `${NAME:-default}`: the default, which must be there.
fn default_of(value: &str) -> &str {
    interpolation(value)
        .and_then(|(_, d)| d)
        .unwrap_or_else(|| panic!("{value:?} is not ${{NAME:-default}}"))
}

/// The app's own default for a setting, in seconds.
fn app_default_secs(name: &str) -> u64 {
    app_settings()[name]
        .default
        .as_deref()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("{name} has no numeric default"))
}

/// `timeout NAME 10s` (or another keyword with a seconds value) of haproxy.cfg, in seconds.
fn haproxy_secs(cfg: &str, keyword: &str) -> u64 {
    let value = cfg
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(keyword).map(str::trim))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("haproxy.cfg: no {keyword}"));
    value
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("haproxy.cfg: {keyword} {value}: write it in seconds"))
}

#[test]
fn scale_instances_trust_only_their_balancer() {
    let doc = scale();
    let lb_addr = text(path(
        &doc,
        &["services", "lb", "networks", "default", "ipv4_address"],
    ));
    let subnet = text(
        path(&doc, &["networks", "default", "ipam", "config"])
            .as_sequence()
            .and_then(|s| s.first())
            .and_then(|c| c.get("subnet"))
            .expect("the scale network's subnet"),
    );
    let addr: IpAddr = default_of(&lb_addr).parse().expect("lb address");
    let net: IpNet = default_of(&subnet).parse().expect("subnet");
    assert!(
        net.contains(&addr),
        "the balancer's {addr} is outside {net}"
    );

    // The instances trust the balancer's address alone: a network would also trust Docker's
    // gateway, which is where connections to the published ports come from.
    let env = mapping(path(&doc, &["services", "app", "environment"]));
    assert_eq!(
        env.get("TRUSTED_PROXIES"),
        Some(&lb_addr),
        "app TRUSTED_PROXIES must be the balancer's ipv4_address"
    );
    assert_eq!(
        text(path(&doc, &["services", "lb", "build"])),
        "deploy/haproxy"
    );
    let ports = list(path(&doc, &["services", "lb", "ports"]));
    assert!(
        ports.len() == 1 && ports[0].starts_with("${BIND_HOST:-127.0.0.1}:"),
        "publish the balancer on the loopback unless BIND_HOST says otherwise: {ports:?}"
    );
}

#[test]
fn haproxy_checks_readyz_retries_safely_and_outlasts_the_stream() {
    let cfg = read("deploy/haproxy/haproxy.cfg");
    for needed in [
        "option httpchk GET /readyz",
        "http-check expect status 200",
        "server-template app ",
        " app:8080",
        "resolvers docker",
        "option forwardfor",
        "option http-buffer-request",
    ] {
        assert!(cfg.contains(needed), "haproxy.cfg: no `{needed}`");
    }
    // Retried only when the instance cannot have processed the request.
    let retry = cfg
        .lines()
        .find(|l| l.trim_start().starts_with("retry-on"))
        .expect("haproxy.cfg: retry-on");
    assert!(retry.contains("conn-failure") && retry.contains("empty-response"));
    assert!(
        !retry.contains("response-timeout") && !retry.contains("all-retryable-errors"),
        "a timed-out request may have been processed: never retry it ({retry})"
    );

    // The event stream sends a comment every 15 s; the app answers slow requests itself.
    let request_timeout = app_default_secs("REQUEST_TIMEOUT_SECS");
    for keyword in ["timeout server", "timeout client"] {
        let secs = haproxy_secs(&cfg, keyword);
        assert!(
            secs > 15 && secs > request_timeout,
            "{keyword} {secs}s: above the stream's 15 s comments and REQUEST_TIMEOUT_SECS"
        );
    }
    // The balancer lets go of idle connections before the app would close them.
    let keep_alive = app_default_secs("KEEP_ALIVE_TIMEOUT_SECS");
    let purge = cfg_value_secs(&cfg, "pool-purge-delay");
    assert!(
        purge < keep_alive,
        "pool-purge-delay {purge}s must be under KEEP_ALIVE_TIMEOUT_SECS ({keep_alive})"
    );
    assert!(
        haproxy_secs(&cfg, "timeout http-request") <= app_default_secs("HEADER_READ_TIMEOUT_SECS")
    );
}

/// The seconds after `keyword` anywhere on a line (`pool-purge-delay 5s`).
fn cfg_value_secs(cfg: &str, keyword: &str) -> u64 {
    let rest = cfg
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|l| l.split_once(keyword).map(|(_, r)| r.to_owned()))
        .unwrap_or_else(|| panic!("haproxy.cfg: no {keyword}"));
    let value = rest.split_whitespace().next().unwrap_or_default();
    value
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("haproxy.cfg: {keyword} {value}"))
}

/// No registry can be reached where deploy/test runs: every image a Dockerfile starts from is
/// one deploy/lib/images.sh builds.
#[test]
fn every_base_image_is_one_deploy_test_builds() {
    let images = read("deploy/lib/images.sh");
    assert!(images.contains("BASE_IMAGE=\"debian:bookworm-slim\""));
    assert!(images.contains("rust:${version}-bookworm"));
    for file in [
        "Dockerfile",
        "deploy/haproxy/Dockerfile",
        "deploy/images/rust/Dockerfile",
        "deploy/images/postgres/Dockerfile",
    ] {
        for line in read(file).lines().filter(|l| l.starts_with("FROM ")) {
            let image = line.split_whitespace().nth(1).unwrap();
            assert!(
                image == "debian:bookworm-slim" || image == "rust:${RUST_VERSION}-bookworm",
                "{file}: FROM {image}, which deploy/test does not build"
            );
        }
    }
    assert!(
        read(".ci/run").contains("deploy/test"),
        ".ci/run must run deploy/test"
    );
}
