//! The plans the flags make, and the flags each index refuses.

use clap::Parser;

use super::*;

#[derive(Parser)]
struct TestCli {
    #[command(flatten)]
    args: BenchArgs,
}

fn args(flags: &[&str]) -> BenchArgs {
    let argv = ["bench", "--data", "/nonexistent/set"].iter().chain(flags);
    TestCli::try_parse_from(argv).expect("flags parse").args
}

/// The plan's index, build parameters and setting labels, or its error.
#[track_caller]
fn check_plan(flags: &[&str], expect: &str) {
    let got = match Plan::new(&args(flags)) {
        Ok(plan) => {
            let labels: Vec<&str> = plan.sweep.iter().map(|s| s.label.as_str()).collect();
            let params: Vec<String> =
                plan.build_params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} [{}] {}", plan.index.as_str(), params.join(" "), labels.join(" "))
        }
        Err(err) => format!("error: {err}"),
    };
    assert_eq!(got, expect);
}

#[test]
fn plans_follow_the_flags() {
    check_plan(&[], "HNSW [M=16 efConstruction=200] ef=16 ef=32 ef=64 ef=128");
    check_plan(
        &["--index", "hnsw", "--m", "32", "--ef-construction", "100", "--ef", "10,400"],
        "HNSW [M=32 efConstruction=100] ef=10 ef=400",
    );
    check_plan(&["--index", "FLAT"], "FLAT [] flat");
}

#[test]
fn plans_refuse_flags_of_another_index() {
    check_plan(&["--ef", "8"], "error: --ef values must be at least 10, the k searched");
    check_plan(&["--nprobe", "8"], "error: --nprobe applies to IVF indexes, not HNSW");
    check_plan(&["--nlist", "8"], "error: --nlist applies to IVF indexes, not HNSW");
    check_plan(&["--index", "FLAT", "--ef", "16"], "error: --ef applies to HNSW indexes, not FLAT");
    check_plan(
        &["--index", "IVF_SQ8", "--m", "8"],
        "error: --m applies to HNSW indexes, not IVF_SQ8",
    );
    check_plan(
        &["--index", "IVF_FLAT", "--ef-construction", "8"],
        "error: --ef-construction applies to HNSW indexes, not IVF_FLAT",
    );
    check_plan(&["--threads", "0"], "error: --threads must be in 1..=1024");
}

#[test]
fn ivf_plans_sweep_nprobe() {
    check_plan(
        &["--index", "IVF_FLAT"],
        "IVF_FLAT [nlist=128] nprobe=1 nprobe=2 nprobe=4 nprobe=8 nprobe=16 nprobe=32 nprobe=64",
    );
    check_plan(
        &["--index", "ivf_sq8", "--nlist", "64", "--nprobe", "1,8"],
        "IVF_SQ8 [nlist=64] nprobe=1 nprobe=8",
    );
}

#[test]
fn unknown_index_types_and_bad_numbers_are_refused_by_the_parser() {
    let argv = ["bench", "--data", "x", "--index", "DISKANN"];
    assert!(TestCli::try_parse_from(argv).is_err());
    let argv = ["bench", "--data", "x", "--ef", "16,abc"];
    assert!(TestCli::try_parse_from(argv).is_err());
}

/// The shares and bucket counts of the plan's filters, or its error.
#[track_caller]
fn check_filters(flags: &[&str], expect: &str) {
    let got = match Plan::new(&args(flags)) {
        Ok(plan) => {
            let filters: Vec<String> =
                plan.filters.iter().map(|f| format!("{}:{}", f.pass(), f.below())).collect();
            filters.join(" ")
        }
        Err(err) => format!("error: {err}"),
    };
    assert_eq!(got, expect);
}

#[test]
fn filter_pass_makes_one_filter_per_share() {
    check_filters(&[], "");
    check_filters(&["--filter-pass", "0.01,0.1,0.5"], "0.01:100 0.1:1000 0.5:5000");
    check_filters(&["--filter-pass", "1,0.00005,0.12345"], "1:10000 0.00005:1 0.12345:1235");
    // Repeated flags add up, in order; every index takes them.
    check_filters(&["--filter-pass", "0.5", "--filter-pass", "0.1"], "0.5:5000 0.1:1000");
    check_filters(&["--index", "IVF_FLAT", "--filter-pass", "0.2"], "0.2:2000");
    check_filters(&["--index", "FLAT", "--filter-pass", "0.2"], "0.2:2000");
}

#[test]
fn filter_pass_refuses_bad_shares() {
    let range = "error: --filter-pass values must be in (0, 1], not";
    check_filters(&["--filter-pass", "0"], &format!("{range} 0"));
    check_filters(&["--filter-pass", "0.5,1.5"], &format!("{range} 1.5"));
    check_filters(&["--filter-pass=-0.1"], &format!("{range} -0.1"));
    check_filters(&["--filter-pass", "NaN"], &format!("{range} NaN"));
    check_filters(&["--filter-pass", "inf"], &format!("{range} inf"));
    check_filters(
        &["--filter-pass", "0.00004"],
        "error: --filter-pass 0.00004 passes no row: shares below 0.00005 round to 0 ids in 10000",
    );
    check_filters(&["--filter-pass", "0.1,0.5,0.1"], "error: --filter-pass lists 0.1 twice");
    check_filters(
        &["--filter-pass", "0.1,0.10001"],
        "error: --filter-pass 0.1 and 0.10001 pass the same rows (id % 10000 < 1000)",
    );
    // The parser refuses an empty list, an empty share in one, and a share not a number.
    for bad in ["", ",", "0.1,", "0.1,,0.5", "0.1,half"] {
        let argv = ["bench", "--data", "x", "--filter-pass", bad];
        assert!(TestCli::try_parse_from(argv).is_err(), "{bad:?} is refused");
    }
    let argv = ["bench", "--data", "x", "--filter-pass"];
    assert!(TestCli::try_parse_from(argv).is_err(), "a value is required");
    assert_eq!(
        filters(&[]).expect_err("refused").to_string(),
        "--filter-pass needs at least one share"
    );
}
