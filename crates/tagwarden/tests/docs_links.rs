//! Every relative link in the repository's Markdown (README, `docs/`, and the READMEs next to the code) points
//! at a file that exists, and every `#anchor` into a Markdown file at one of its headings.
//!
//! Anchors follow GitHub's rules: the heading's text, lower-cased, with spaces turned into `-` and
//! punctuation other than `-` and `_` dropped; a repeated heading gets `-1`, `-2`, …. Links with a scheme
//! (`https:`, `mailto:`) are not followed: this test runs without a network.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Directories never searched for Markdown: build output, virtual environments, dependencies, scratch.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", "cdk.out", "work"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every `*.md` file under `dir`, skipping hidden directories and [`SKIPPED_DIRS`].
fn markdown_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                markdown_files(&path, found);
            }
        } else if name.ends_with(".md") {
            found.push(path);
        }
    }
}

/// The lines of `text` outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<String> = None;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let first = trimmed.chars().next().unwrap_or(' ');
        let marker: String = trimmed.chars().take_while(|&c| c == first).collect();
        if (first == '`' || first == '~') && marker.len() >= 3 {
            match &fence {
                None => fence = Some(marker),
                Some(open) if marker.starts_with(open.as_str()) && trimmed.trim_end() == marker => fence = None,
                Some(_) => {}
            }
            continue;
        }
        if fence.is_none() {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// The link destinations of the prose of `text`, with their line numbers (code spans and blocks skipped).
fn links(text: &str) -> Vec<(usize, String)> {
    prose_lines(text)
        .into_iter()
        .flat_map(|(n, line)| link_destinations(&blank_code_spans(line)).into_iter().map(move |d| (n, d)))
        .collect()
}

/// `line` with the content of every `code span` replaced by spaces (links in code are not links).
fn blank_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(c);
        } else {
            out.push(if in_code { ' ' } else { c });
        }
    }
    out
}

/// The destinations of the inline links and images (`[text](dest "title")`) and the reference definitions
/// (`[label]: dest`) of one line.
fn link_destinations(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let trimmed = line.trim_start();
    if trimmed.starts_with('[')
        && let Some(end) = trimmed.find("]:")
        && !trimmed[..end].contains("](")
    {
        if let Some(dest) = trimmed[end + 2..].split_whitespace().next() {
            found.push(dest.trim_start_matches('<').trim_end_matches('>').to_owned());
        }
        return found;
    }
    let bytes = line.as_bytes();
    let mut at = 0;
    while let Some(offset) = line[at..].find("](") {
        let start = at + offset + 2;
        let mut depth = 0usize;
        let mut end = start;
        while end < bytes.len() {
            match bytes[end] {
                b'(' => depth += 1,
                b')' if depth == 0 => break,
                b')' => depth -= 1,
                _ => {}
            }
            end += 1;
        }
        let inner = line[start..end].trim();
        let dest = if let Some(rest) = inner.strip_prefix('<') {
            rest.split('>').next().unwrap_or_default()
        } else {
            inner.split_whitespace().next().unwrap_or_default()
        };
        if !dest.is_empty() {
            found.push(dest.to_owned());
        }
        at = end.min(line.len());
    }
    found
}

/// GitHub's anchor for a heading's text.
fn slug(heading: &str) -> String {
    let text = strip_inline_markup(heading);
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// A heading's visible text: links reduced to their text, images to their alt text.
fn strip_inline_markup(heading: &str) -> String {
    let mut out = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find("](") {
        let close = rest[open..].find(')').map(|c| open + c + 1).unwrap_or(rest.len());
        out.push_str(&rest[..open]);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out.replace(['[', ']', '!'], "")
}

/// The anchors of a Markdown file's ATX headings (`# …` to `###### …`), duplicates numbered as GitHub does.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !trimmed[hashes..].starts_with(' ') {
            continue;
        }
        let heading = trimmed[hashes..].trim().trim_end_matches('#').trim();
        let base = slug(heading);
        let n = seen.entry(base.clone()).or_default();
        anchors.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
        *n += 1;
    }
    anchors
}

/// Resolves `dest` (without its anchor) from the Markdown file `from`; `/` starts at the repository root.
fn resolve(root: &Path, from: &Path, dest: &str) -> PathBuf {
    let base = if dest.starts_with('/') { root.to_path_buf() } else { from.parent().unwrap().to_path_buf() };
    let mut path = base;
    for component in Path::new(dest.trim_start_matches('/')).components() {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::Normal(part) => path.push(part),
            _ => {}
        }
    }
    path
}

/// Percent-decoding of the few escapes a path or an anchor in these files may use.
fn decode(text: &str) -> String {
    text.replace("%20", " ").replace("%23", "#")
}

fn has_scheme(dest: &str) -> bool {
    dest.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

#[test]
fn every_relative_link_in_the_markdown_points_at_a_file_and_heading_that_exist() {
    let root = repo_root();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let names: BTreeSet<String> = files.iter().map(|f| rel(f.as_path())).collect();
    for expected in ["README.md", "docs/contributing.md", "docs/local-workflow.md", "bench/README.md"] {
        assert!(names.contains(expected), "{expected} not found among {names:?}");
    }

    let mut broken = Vec::new();
    let mut checked = 0;
    let mut anchor_cache: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for (line_no, dest) in links(&text) {
            if has_scheme(&dest) || dest.starts_with("//") {
                continue;
            }
            checked += 1;
            let (path_part, anchor) = match dest.split_once('#') {
                Some((p, a)) => (p, Some(decode(a))),
                None => (dest.as_str(), None),
            };
            let target = if path_part.is_empty() { file.clone() } else { resolve(&root, file, &decode(path_part)) };
            let at = format!("{}:{line_no}: {dest}", rel(file));
            if !target.exists() {
                broken.push(format!("{at}: no file {}", rel(&target)));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if target.extension().and_then(|e| e.to_str()) != Some("md") {
                continue;
            }
            let known = anchor_cache
                .entry(target.clone())
                .or_insert_with(|| anchors(&fs::read_to_string(&target).unwrap_or_default()));
            if !known.contains(&anchor.to_lowercase()) {
                broken.push(format!("{at}: no heading #{anchor} in {} (has: {known:?})", rel(&target)));
            }
        }
    }
    assert!(broken.is_empty(), "{} broken link(s):\n{}", broken.len(), broken.join("\n"));
    // NOTE: guards against a parser that finds nothing and so passes: the README alone links to every page.
    assert!(checked >= 30, "only {checked} relative links found");
}

#[test]
fn every_page_of_docs_is_linked_from_the_readme() {
    let root = repo_root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let linked: BTreeSet<String> = links(&readme).into_iter().map(|(_, d)| d).collect();
    for entry in fs::read_dir(root.join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            let page = format!("docs/{name}");
            assert!(linked.iter().any(|d| d.split('#').next() == Some(page.as_str())), "README does not link {page}");
        }
    }
}

#[test]
fn headings_become_anchors_as_on_github() {
    assert_eq!(slug("Where the time of `make test` goes"), "where-the-time-of-make-test-goes");
    assert_eq!(slug("Tagging the existing estate: sweep and audit"), "tagging-the-existing-estate-sweep-and-audit");
    assert_eq!(slug("The `budgets` section"), "the-budgets-section");
    assert_eq!(slug("A [linked](x.md) heading"), "a-linked-heading");
    assert_eq!(slug("snake_case and 5× faster"), "snake_case-and-5-faster");
    let text = "# Title\n\n## Runtime\n\n```sh\n# not a heading\n```\n\n## Runtime\n";
    assert_eq!(anchors(text), ["title", "runtime", "runtime-1"].map(String::from).into_iter().collect());
}

#[test]
fn links_are_found_outside_code_only() {
    assert_eq!(link_destinations("see [a](docs/a.md#x) and ![b](img.png \"t\")"), ["docs/a.md#x", "img.png"]);
    assert_eq!(link_destinations("[ref]: ../infra/README.md"), ["../infra/README.md"]);
    assert_eq!(link_destinations("a [link (with parens)](f(1).md)"), ["f(1).md"]);
    let text = "```\n[no](missing.md)\n```\nand `[no](missing.md)` but [yes](here.md)\n";
    let found: Vec<(usize, String)> = links(text);
    assert_eq!(found, [(4, "here.md".to_owned())]);
    assert!(has_scheme("https://example.com") && has_scheme("mailto:a@b") && !has_scheme("docs/a.md"));
}
