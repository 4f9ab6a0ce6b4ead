//! Command-line front end of the conformance kit: runs the checks against one
//! server, prints a table, optionally writes a JSON report, and exits 0 when
//! nothing failed, 1 when a check failed, and 2 on a usage or connection error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use portcullis_conformance::{Config, run};

/// Checks an OAuth 2.1 authorization server from outside, over HTTP.
#[derive(Parser)]
#[command(name = "portcullis-conformance", version)]
struct Cli {
    #[command(flatten)]
    config: Config,

    /// Write the report as JSON to this file as well.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    // clap prints usage errors itself and exits with status 2.
    let cli = Cli::parse();
    let report = match run(&cli.config) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.to_table());

    if let Some(path) = &cli.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|json| std::fs::write(path, json + "\n").map_err(|e| e.to_string()));
        if let Err(error) = written {
            eprintln!(
                "error: writing the JSON report to {} failed: {error}",
                path.display()
            );
            return ExitCode::from(2);
        }
    }
    if report.has_failures() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
