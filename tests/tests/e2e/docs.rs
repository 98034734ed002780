//! The repository's own documents, checked so they cannot go stale silently: no tracked file
//! points outside the repository, relative links between documents resolve, and the code map of
//! `docs/ARCHITECTURE.md` names only paths that exist and has an entry for every workspace member.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// The contract files the repository was written from live beside it, not in it: naming them is
/// pointing outside. Built at run time, so this file does not name them itself.
fn outside_documents() -> Vec<String> {
    ["API.md", "ARCHITECTURE.md"].iter().map(|name| format!("shared/{name}")).collect()
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the tests crate sits in the repository root").to_path_buf()
}

/// Every tracked file with its text; files that are not UTF-8 text are left out.
fn tracked_texts(root: &Path) -> Vec<(PathBuf, String)> {
    let listed = Command::new("git").arg("-C").arg(root).args(["ls-files", "-z"]).output().expect("run git ls-files");
    assert!(listed.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&listed.stderr));
    String::from_utf8(listed.stdout)
        .expect("git ls-files lists UTF-8 paths")
        .split('\0')
        .filter(|path| !path.is_empty())
        .filter_map(|path| {
            let text = std::fs::read_to_string(root.join(path)).ok()?;
            Some((PathBuf::from(path), text))
        })
        .collect()
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-')
}

/// Each path-like run of characters in `text` that climbs with `../`.
fn climbing_paths(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("../") {
        let at = from + offset;
        let start =
            text[..at].char_indices().rev().find(|&(_, c)| !is_path_char(c)).map_or(0, |(i, c)| i + c.len_utf8());
        let end = text[at..].char_indices().find(|&(_, c)| !is_path_char(c)).map_or(text.len(), |(i, _)| at + i);
        found.push(&text[start..end]);
        from = end.max(at + 3);
    }
    found
}

/// `relative` resolved from the directory `base` (both relative to the repository root), or `None`
/// when it climbs above the root.
fn resolve(base: &Path, relative: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = base
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    for part in relative.trim_start_matches('/').split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name.to_owned()),
        }
    }
    Some(parts.iter().collect())
}

#[test]
fn no_tracked_file_points_outside_the_repository() {
    let root = repository_root();
    let outside = outside_documents();
    let mut offenders = Vec::new();
    for (path, text) in tracked_texts(&root) {
        let directory = path.parent().unwrap_or(Path::new(""));
        for climbing in climbing_paths(&text) {
            if resolve(directory, climbing).is_none() {
                offenders.push(format!("{}: {climbing} climbs above the repository root", path.display()));
            }
        }
        for document in &outside {
            if text.contains(document.as_str()) {
                offenders.push(format!("{}: names {document}, which is not in the repository", path.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "files pointing outside the repository:\n{}", offenders.join("\n"));
}

#[test]
fn relative_links_between_documents_resolve() {
    let root = repository_root();
    let mut broken = Vec::new();
    for (path, text) in tracked_texts(&root).into_iter().filter(|(path, _)| path.extension().is_some_and(|e| e == "md"))
    {
        let directory = path.parent().unwrap_or(Path::new(""));
        for link in text.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            let target = link.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            match resolve(directory, target) {
                Some(resolved) if root.join(&resolved).exists() => {}
                _ => broken.push(format!("{}: ({link})", path.display())),
            }
        }
    }
    assert!(broken.is_empty(), "links to nothing:\n{}", broken.join("\n"));
}

/// The text of the code map: from its heading to the next second-level heading.
fn code_map(architecture: &str) -> &str {
    let start = architecture.find("\n## Code map\n").expect("docs/ARCHITECTURE.md has a \"## Code map\" section");
    let rest = &architecture[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The backticked spans that name a path: a slash, no spaces, not a route (`/healthz`), a URL or
/// a placeholder.
fn named_paths(section: &str) -> Vec<&str> {
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.contains('/') && !span.contains(char::is_whitespace))
        .filter(|span| !span.starts_with('/') && !span.contains("://") && !span.contains(['<', '{', '*']))
        .collect()
}

#[test]
fn the_code_map_names_only_paths_that_exist_and_every_workspace_member() {
    let root = repository_root();
    let architecture = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md");
    let section = code_map(&architecture);

    let paths = named_paths(section);
    assert!(paths.len() > 20, "the code map names only {} paths: was it parsed right?", paths.len());
    let missing: Vec<&str> = paths.iter().copied().filter(|path| !root.join(path).exists()).collect();
    assert!(missing.is_empty(), "the code map names paths that do not exist: {missing:?}");

    let manifest: toml::Table =
        std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml").parse().expect("Cargo.toml is TOML");
    let members = manifest["workspace"]["members"].as_array().expect("workspace members").clone();
    let headings: Vec<&str> = section.lines().filter(|line| line.starts_with("### ")).collect();
    let unmapped: Vec<String> = members
        .iter()
        .filter_map(|member| member.as_str())
        .filter(|member| !headings.iter().any(|heading| heading.contains(&format!("`{member}`"))))
        .map(str::to_owned)
        .collect();
    assert!(unmapped.is_empty(), "workspace members without a heading in the code map: {unmapped:?}");
}

#[test]
fn climbing_paths_are_resolved_from_the_file_that_names_them() {
    assert_eq!(climbing_paths("see `../x/API.md` and (../../b.rs)"), vec!["../x/API.md", "../../b.rs"]);
    assert_eq!(resolve(Path::new(""), "../x/API.md"), None);
    assert_eq!(resolve(Path::new("docs"), "../BENCHMARKS.md"), Some(PathBuf::from("BENCHMARKS.md")));
    assert_eq!(resolve(Path::new("tests"), "../shared/store"), Some(PathBuf::from("shared/store")));
    assert_eq!(resolve(Path::new("a/b"), "/../../c"), Some(PathBuf::from("c")));
}
