//! End-to-end runs of `quiver bench` on small fixtures, and the checks made before a run.

use clap::Parser;

use super::run::ScratchDir;
use super::*;
use crate::bench::fixtures::Fixture;

#[derive(Parser)]
struct TestCli {
    #[command(flatten)]
    args: BenchArgs,
}

/// Runs the command on a fixture with its database under a scratch directory; checks that
/// the database is gone afterwards and returns the output lines.
fn run_on(fixture: &Fixture, flags: &[&str]) -> Vec<String> {
    let parent = ScratchDir::create(&std::env::temp_dir()).expect("parent directory");
    let prefix = fixture.prefix.to_string_lossy().into_owned();
    let data_dir = parent.path().to_string_lossy().into_owned();
    let mut argv = vec!["bench", "--data", &prefix, "--data-dir", &data_dir, "--threads", "2"];
    argv.extend(flags);
    let args = TestCli::try_parse_from(argv).expect("flags parse").args;
    let mut out = Vec::new();
    run(&args, &mut out).expect("runs");
    let leftovers = std::fs::read_dir(parent.path()).expect("lists").count();
    assert_eq!(leftovers, 0, "the temporary database is removed");
    String::from_utf8(out).expect("utf-8").lines().map(str::to_owned).collect()
}

/// The value of `key=` in a line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{key} in {line:?}"))
}

#[test]
fn flat_search_finds_the_exact_neighbours() {
    let fixture = Fixture::new(300, 8, 20);
    let plot = fixture.path(".png");
    let plot_flag = plot.to_string_lossy().into_owned();
    let lines = run_on(&fixture, &["--index", "FLAT", "--plot", &plot_flag]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(field(&lines[0], "build_s").parse::<f64>().is_ok(), "{lines:?}");
    assert!(field(&lines[0], "peak_rss_mb").parse::<f64>().is_ok(), "{lines:?}");
    assert!(lines[1].starts_with("flat recall@10=1.000 qps_1t="), "{lines:?}");
    assert!(field(&lines[1], "qps_all").parse::<f64>().is_ok_and(|q| q > 0.0), "{lines:?}");
    // FLAT's scan speed, as a share of the memory bandwidth.
    assert!(lines[2].starts_with("flat_scan_gb_s="), "{lines:?}");
    assert!(field(&lines[2], "share").parse::<f64>().is_ok_and(|s| s > 0.0), "{lines:?}");
    let image = std::fs::read(&plot).expect("plot written");
    assert_eq!(image[..8], png::SIGNATURE);
}

#[test]
fn hnsw_reports_one_line_per_ef() {
    let fixture = Fixture::new(300, 8, 20);
    let lines = run_on(&fixture, &["--ef", "10,64", "--m", "8", "--ef-construction", "64"]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[1].starts_with("ef=10 recall@10="), "{lines:?}");
    assert!(lines[2].starts_with("ef=64 recall@10="), "{lines:?}");
    // A graph over 300 rows searched with a beam of 64 finds nearly all neighbours.
    let recall: f64 = field(&lines[2], "recall@10").parse().expect("a number");
    assert!(recall >= 0.9, "{lines:?}");
}

#[test]
fn a_bad_dataset_stops_before_any_database_is_made() {
    let fixture = Fixture::new(300, 8, 20);
    fixture.write(".base.f32", &[0; 12]);
    let args = TestCli::try_parse_from(["bench", "--data", &fixture.prefix.to_string_lossy()])
        .expect("flags parse")
        .args;
    let err = run(&args, &mut Vec::new()).expect_err("refused");
    assert!(err.to_string().contains("set.base.f32 has 12 bytes"), "{err}");
}

#[test]
fn an_unwritable_plot_path_stops_before_the_dataset_is_read() {
    let argv = ["bench", "--data", "/nonexistent/set", "--plot", "/nonexistent/dir/q.png"];
    let args = TestCli::try_parse_from(argv).expect("flags parse").args;
    let err = run(&args, &mut Vec::new()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "cannot write /nonexistent/dir/q.png: /nonexistent/dir is not a directory"
    );
}

#[test]
fn filter_pass_measures_every_setting_under_every_filter() {
    let fixture = Fixture::new(300, 8, 20);
    let flags = ["--ef", "10,64", "--m", "8", "--ef-construction", "64", "--filter-pass", "0.01,1"];
    let lines = run_on(&fixture, &flags);
    assert_eq!(lines.len(), 7, "{lines:?}");
    let prefixes = [
        "filter_pass=0.01 ef=10 recall@10=",
        "filter_pass=0.01 ef=64 recall@10=",
        "filter_pass=1 ef=10 recall@10=",
        "filter_pass=1 ef=64 recall@10=",
    ];
    for (line, prefix) in lines[3..].iter().zip(prefixes) {
        assert!(line.starts_with(prefix), "{lines:?}");
        assert!(field(line, "qps_1t").parse::<f64>().is_ok_and(|q| q > 0.0), "{lines:?}");
        assert!(field(line, "qps_all").parse::<f64>().is_ok_and(|q| q > 0.0), "{lines:?}");
    }
    // Everything passes: the filter's exact top-10 is the dataset's, so the recall is the
    // unfiltered one.
    assert_eq!(field(&lines[5], "recall@10"), field(&lines[1], "recall@10"), "{lines:?}");
    assert_eq!(field(&lines[6], "recall@10"), field(&lines[2], "recall@10"), "{lines:?}");
    // Of 300 rows, ids 0..100 pass 1%: a third of the graph, still found with a beam of 64.
    let recall: f64 = field(&lines[4], "recall@10").parse().expect("a number");
    assert!(recall >= 0.9, "{lines:?}");
}

#[test]
fn filtered_flat_search_finds_the_exact_neighbours() {
    let fixture = Fixture::new(300, 8, 20);
    let lines = run_on(&fixture, &["--index", "FLAT", "--filter-pass", "0.0001,0.02,0.5"]);
    // The build, the unfiltered search and FLAT's scan speed, then the filters.
    assert_eq!(lines.len(), 6, "{lines:?}");
    for (line, pass) in lines[3..].iter().zip(["0.0001", "0.02", "0.5"]) {
        assert!(
            line.starts_with(&format!("filter_pass={pass} flat recall@10=1.000 qps_1t=")),
            "{lines:?}"
        );
    }
}
