//! Checks that the kit's library links no portcullis crate, so it judges our
//! servers by the same black-box rules as any other server. Dev-dependencies
//! on the example servers are allowed, because only the tests start servers.

use std::collections::BTreeSet;

/// The kit's manifest.
const MANIFEST: &str = include_str!("../Cargo.toml");
/// The workspace manifest, for dependencies that `workspace = true` inherits.
const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");

/// Returns the crates that a manifest's `[dependencies]` tables name, target
/// tables included, as `(key, package)` pairs. The package is the `package`
/// field of a renamed dependency, else the one the workspace entry renames,
/// else the key.
fn linked_packages(manifest: &toml::Table, workspace: &toml::Table) -> Vec<(String, String)> {
    let inherited = workspace
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table);
    let mut tables: Vec<&toml::Table> = manifest
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .into_iter()
        .collect();
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            if let Some(table) = target.get("dependencies").and_then(toml::Value::as_table) {
                tables.push(table);
            }
        }
    }

    let mut linked = Vec::new();
    for table in tables {
        for (key, spec) in table {
            let inherits = spec.get("workspace").and_then(toml::Value::as_bool) == Some(true);
            let workspace_spec = inherited
                .filter(|_| inherits)
                .and_then(|deps| deps.get(key));
            let package = spec
                .get("package")
                .or_else(|| workspace_spec.and_then(|s| s.get("package")))
                .and_then(toml::Value::as_str)
                .unwrap_or(key);
            linked.push((key.clone(), package.to_owned()));
        }
    }
    linked
}

fn parse(text: &str) -> toml::Table {
    toml::from_str(text).unwrap_or_else(|error| panic!("a manifest does not parse: {error}"))
}

#[test]
fn library_links_no_portcullis_crate() {
    let linked = linked_packages(&parse(MANIFEST), &parse(WORKSPACE_MANIFEST));
    assert!(
        linked.iter().any(|(key, _)| key == "ureq"),
        "the [dependencies] table was not read: {linked:?}"
    );
    let ours: Vec<&(String, String)> = linked
        .iter()
        .filter(|(key, package)| {
            key.starts_with("portcullis-") || package.starts_with("portcullis-")
        })
        .collect();
    assert!(
        ours.is_empty(),
        "the kit's library depends on portcullis crates {ours:?}; move them to [dev-dependencies]"
    );
}

#[test]
fn renamed_and_target_dependencies_are_seen() {
    let workspace = parse(
        r#"
        [workspace.dependencies]
        errors = { path = "crates/errors", package = "portcullis-errors" }
        "#,
    );
    let manifest = parse(
        r#"
        [dependencies]
        url = "2"
        grants = { path = "../grants", package = "portcullis-grants" }
        errors.workspace = true

        [target.'cfg(unix)'.dependencies]
        portcullis-pkce = { path = "../pkce" }

        [dev-dependencies]
        portcullis-fltr = { path = "../../examples/fltr" }
        "#,
    );
    let packages: BTreeSet<String> = linked_packages(&manifest, &workspace)
        .into_iter()
        .map(|(_, package)| package)
        .collect();
    let expected = [
        "portcullis-errors",
        "portcullis-grants",
        "portcullis-pkce",
        "url",
    ];
    assert_eq!(packages, BTreeSet::from(expected.map(String::from)));
}
