//! Keeps the README's check table in step with the catalog.

#[test]
fn readme_lists_every_check() {
    let readme = include_str!("../README.md");
    for check in portcullis_conformance::catalog() {
        let row = format!("| `{}` | {} |", check.id, check.name);
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
}
