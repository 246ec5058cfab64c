//! The audit against the local emulator: seed the untidy estate, audit it, compare every number with
//! what the estate's description says, parse all four formats, and render the HTML page in headless
//! Chromium to check the chart's bars.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use tagwarden::sweep::{self, Lister, SweepOptions, SweepState};
use tagwarden::tagging::TaggerSettings;
use tagwarden::{AutoTagger, Clients, Policy};
use tagwarden_e2e::estate::{ESTATE_TYPES, Entry, audited, seed_estate};
use tagwarden_e2e::{Emulator, REGION};
use tagwarden_ops::audit::{self, AuditReport, Format};

const REQUIRED: &[&str] = &["cost-center", "team", "environment"];

struct Estate {
    _emulator: Emulator,
    clients: Clients,
    policy: Arc<Policy>,
}

async fn estate() -> Estate {
    let emulator = Emulator::start().expect("emulator starts (run `make venv` first)");
    let config = emulator.sdk_config(REGION, 1).await;
    seed_estate(&config).await.expect("seed the estate");
    Estate { _emulator: emulator, clients: Clients::new(&config), policy: Arc::new(Policy::example().unwrap()) }
}

impl Estate {
    async fn audit(&self) -> AuditReport {
        let names: Vec<String> = ESTATE_TYPES.iter().map(|t| t.to_string()).collect();
        let kinds = sweep::kinds_named(&names).unwrap();
        let (resources, errors) = audit::collect(&Lister::new(self.clients.clone()), &kinds, 4).await;
        assert!(errors.is_empty(), "{errors:?}");
        audit::audit(&resources, &self.policy.tags)
    }

    async fn sweep(&self) {
        let tagger = AutoTagger::new(self.clients.clone(), self.policy.clone(), &TaggerSettings::default());
        let names: Vec<String> = ESTATE_TYPES.iter().map(|t| t.to_string()).collect();
        let options = SweepOptions { kinds: sweep::kinds_named(&names).unwrap(), ..SweepOptions::default() };
        let lister = Lister::new(self.clients.clone());
        let summary = sweep::sweep(&tagger, &lister, &options, &mut SweepState::default(), &mut |_| {}).await;
        assert_eq!(summary.total.failed, 0);
    }
}

/// Per type: (resources, compliant, per required key: compliant resources), from the description.
fn expected(bad: fn(&Entry) -> &'static [&'static str]) -> BTreeMap<String, (u64, u64, BTreeMap<String, u64>)> {
    let mut out: BTreeMap<String, (u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    for entry in audited() {
        let row = out.entry(entry.kind.to_owned()).or_default();
        row.0 += 1;
        row.1 += u64::from(bad(entry).is_empty());
        for key in REQUIRED {
            *row.2.entry(key.to_string()).or_default() += u64::from(!bad(entry).contains(key));
        }
    }
    out
}

fn actual(report: &AuditReport) -> BTreeMap<String, (u64, u64, BTreeMap<String, u64>)> {
    report.types.iter().map(|t| (t.resource_type.clone(), (t.resources, t.compliant, t.keys.clone()))).collect()
}

#[tokio::test]
async fn audit_numbers_match_the_estate_before_and_after_the_sweep() {
    let estate = estate().await;
    let before = estate.audit().await;
    assert_eq!(actual(&before), expected(|e| e.bad_before));
    assert_eq!(before.total.resources, audited().count() as u64);
    assert_eq!(before.non_compliant.len(), audited().filter(|e| !e.bad_before.is_empty()).count());

    // Who made it, when Studio's tags or the owner say so.
    let alice_job = before.non_compliant.iter().find(|r| r.resource_arn.ends_with("/estate-train-studio-alice"));
    assert_eq!(alice_job.unwrap().creator.as_deref(), Some("alice"));
    let space = before.non_compliant.iter().find(|r| r.resource_arn.ends_with("/estate-space-bob"));
    assert_eq!(space.unwrap().creator.as_deref(), Some("bob"));
    // Each kind of problem is reported for the resource seeded with it.
    let problem = |name: &str, key: &str| {
        let r = before.non_compliant.iter().find(|r| r.resource_arn.ends_with(name)).unwrap();
        r.findings.iter().find(|f| f.key == key).unwrap().problem.label()
    };
    assert_eq!(problem("/estate-nb-misspelt", "environment"), "wrong-key");
    assert_eq!(problem("/estate-train-disallowed", "environment"), "disallowed");
    assert_eq!(problem("/estate-train-bad-pattern", "cost-center"), "pattern-mismatch");
    assert_eq!(problem("/estate-proc-wrong-case", "environment"), "wrong-case-value");
    assert_eq!(problem("/estate-nb-untagged", "team"), "missing");

    estate.sweep().await;
    let after = estate.audit().await;
    assert_eq!(actual(&after), expected(|e| e.bad_after));
    assert!(after.total.compliant > before.total.compliant);
}

/// A minimal CSV reader: fields separated by commas, quoted fields with doubled quotes.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            let (mut fields, mut field, mut quoted, mut chars) =
                (Vec::new(), String::new(), false, line.chars().peekable());
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        field.push('"');
                        chars.next();
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => fields.push(std::mem::take(&mut field)),
                    _ => field.push(c),
                }
            }
            fields.push(field);
            fields
        })
        .collect()
}

#[tokio::test]
async fn all_four_formats_parse_and_agree_with_the_report() {
    let estate = estate().await;
    let report = estate.audit().await;

    let json: serde_json::Value = serde_json::from_str(&audit::render(&report, Format::Json)).unwrap();
    assert_eq!(json["required_keys"], serde_json::json!(REQUIRED));
    for t in json["types"].as_array().unwrap() {
        assert!(t["resource_type"].is_string() && t["resources"].is_u64() && t["compliant"].is_u64());
        assert_eq!(t["keys"].as_object().unwrap().len(), REQUIRED.len());
    }
    for r in json["non_compliant"].as_array().unwrap() {
        assert!(r["resource_arn"].as_str().unwrap().starts_with("arn:aws:sagemaker:"));
        for f in r["findings"].as_array().unwrap() {
            assert!(REQUIRED.contains(&f["key"].as_str().unwrap()));
            assert!(f["problem"].is_string());
        }
    }
    assert_eq!(json["total"]["resources"], audited().count());

    let rows = csv_rows(&audit::render(&report, Format::Csv));
    assert_eq!(rows[0], ["resource_type", "resource_arn", "creator", "key", "status", "detail"]);
    assert!(rows.iter().all(|r| r.len() == 6), "{rows:?}");
    let bad_rows = rows[1..].iter().filter(|r| r[4] != "ok").count();
    assert_eq!(bad_rows, audited().map(|e| e.bad_before.len()).sum::<usize>());
    assert_eq!(rows.len() - 1, report.non_compliant.len() * REQUIRED.len());

    let table = audit::render(&report, Format::Table);
    for kind in ESTATE_TYPES {
        assert!(table.lines().any(|l| l.starts_with(kind)), "{kind} in\n{table}");
    }
    let html = audit::render(&report, Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
}

/// Headless Chromium, or why it cannot run (under CI a missing Chromium fails the test).
pub(crate) fn chromium() -> Option<String> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        let why = "chromium is not installed (apt-get install -y chromium); the HTML chart is not checked";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipped: {why}");
    }
    found.map(str::to_owned)
}

fn screenshot(browser: &str, page: &Path, png: &Path) {
    let profile = std::env::temp_dir().join(format!("tagwarden-chromium-{}", std::process::id()));
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .args(["--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1200,900"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(png.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
}

/// A page as headless Chromium drew it: RGB pixels row by row.
pub(crate) struct Shot {
    width: u32,
    rgb: Vec<[u8; 3]>,
}

impl Shot {
    /// Each pixel with its x coordinate.
    pub(crate) fn pixels(&self) -> impl Iterator<Item = (u32, [u8; 3])> + '_ {
        self.rgb.iter().enumerate().map(|(i, p)| ((i % self.width as usize) as u32, *p))
    }
}

/// Renders `html` in `browser` (temporary files named after `name`) and decodes the screenshot.
pub(crate) fn render(browser: &str, name: &str, html: &str) -> Shot {
    let dir = std::env::temp_dir().join(format!("tagwarden-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (page, png) = (dir.join(format!("{name}.html")), dir.join(format!("{name}.png")));
    std::fs::write(&page, html).unwrap();
    screenshot(browser, &page, &png);
    let mut decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let channels = info.color_type.samples();
    let rgb = buf[..info.buffer_size()].chunks_exact(channels).map(|p| [p[0], p[1], p[2]]).collect();
    Shot { width: info.width, rgb }
}

/// Whether `pixel` is `colour`, give or take 3 per channel (anti-aliasing).
pub(crate) fn near(pixel: [u8; 3], colour: [u8; 3]) -> bool {
    pixel.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 3)
}

pub(crate) fn rgb(hex: &str) -> [u8; 3] {
    let n = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    [(n >> 16) as u8, (n >> 8) as u8, n as u8]
}

#[tokio::test]
async fn the_html_chart_renders_in_chromium_with_bars_proportional_to_coverage() {
    let Some(browser) = chromium() else { return };
    let estate = estate().await;
    let report = estate.audit().await;
    let (green, red) = (rgb(audit::COMPLIANT_COLOUR), rgb(audit::NONCOMPLIANT_COLOUR));
    let shot = render(&browser, "audit", &audit::render(&report, Format::Html));
    let (mut greens, mut reds, mut xs) = (0u64, 0u64, (u32::MAX, 0u32));
    for (x, p) in shot.pixels() {
        let (g, r) = (near(p, green), near(p, red));
        greens += u64::from(g);
        reds += u64::from(r);
        if g || r {
            xs = (xs.0.min(x), xs.1.max(x));
        }
    }

    // Every bar is CHART_BAR_WIDTH x CHART_BAR_HEIGHT, green for the compliant share.
    let bar = u64::from(audit::CHART_BAR_WIDTH * audit::CHART_BAR_HEIGHT);
    let bars = report.types.len() as u64;
    let expected_green: f64 = report.types.iter().map(|t| t.coverage()).sum::<f64>() * bar as f64;
    let tolerance = 0.02 * (bars * bar) as f64;
    assert!((greens + reds).abs_diff(bars * bar) as f64 <= tolerance, "{greens} + {reds} px for {bars} bars");
    assert!((greens as f64 - expected_green).abs() <= tolerance, "{greens} green px, expected {expected_green}");
    assert!(greens > 0 && reds > 0, "the estate is partly compliant");
    // The bars start after the label column and are a bar wide.
    assert!(xs.0 >= audit::CHART_LABEL_WIDTH && xs.1 - xs.0 < audit::CHART_BAR_WIDTH + 2, "bars span x {xs:?}");
}
