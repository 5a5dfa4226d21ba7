//! `ledgerguard import FILE [--format csv|ndjson]`: bulk ingest from a file through the same
//! validation, scoring and storage as the API, in chunks, with a progress bar on a terminal
//! and plain progress lines otherwise. Refuses while a server holds the data dir (the API
//! import is the way then). Imported rows use the sender namespace `cli:import`, so importing
//! the same file again reports duplicates instead of storing twice.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::config::Settings;
use crate::events::EventBus;
use crate::scoring::model::ModelSlot;
use crate::store::{DataDirLock, Store};
use crate::transactions::ingest::{ItemOutcome, Pipeline};
use crate::transactions::parse::{CsvItems, Item};
use crate::transactions::Defaults;

/// Rows sent to the pipeline at once.
const CHUNK: usize = 5_000;
/// The sender namespace of CLI imports.
pub const SENDER: &str = "cli:import";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// CSV file with a header row (columns named as the fields), or NDJSON.
    pub file: PathBuf,
    /// File format; by default `.ndjson`/`.jsonl` files are NDJSON and anything else CSV.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Rows<R: Read> {
    Csv(CsvItems<R>),
    Ndjson(std::io::Lines<BufReader<R>>),
}

impl<R: Read> Rows<R> {
    fn next_item(&mut self) -> Option<Item> {
        match self {
            Rows::Csv(c) => c.next_item().map(|(item, _label)| item),
            Rows::Ndjson(lines) => loop {
                match lines.next()? {
                    Ok(line) if line.trim().is_empty() => continue,
                    Ok(line) => {
                        break Some(serde_json::from_str::<Value>(&line).map_err(|e| {
                            vec![crate::http::error::FieldError::new(
                                "line",
                                format!("is not valid JSON: {e}"),
                            )]
                        }))
                    }
                    Err(e) => {
                        break Some(Err(vec![crate::http::error::FieldError::new(
                            "line",
                            format!("cannot be read: {e}"),
                        )]))
                    }
                }
            },
        }
    }
}

/// Totals of an import.
#[derive(Debug, Default)]
struct Totals {
    rows: u64,
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    decisions: [u64; 3],
    first_errors: Vec<String>,
}

pub fn run(settings: &Settings, args: ImportArgs) -> anyhow::Result<()> {
    if DataDirLock::is_held(settings.data_dir()) {
        bail!(
            "a running server holds the data dir {}; use the API import instead (POST /api/v1/transactions/import)",
            settings.data_dir().display()
        );
    }
    let format =
        args.format
            .unwrap_or_else(|| match args.file.extension().and_then(|e| e.to_str()) {
                Some("ndjson" | "jsonl") => Format::Ndjson,
                _ => Format::Csv,
            });
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    crate::store::ensure_private_dir(settings.data_dir())?;
    let _lock = DataDirLock::acquire(settings.data_dir()).map_err(anyhow::Error::msg)?;
    let store = Store::open(settings).context("cannot open the database")?;
    let result = import(settings, &store, file, size, format);
    store.close();
    let totals = result?;
    println!(
        "imported {} rows: {} accepted, {} duplicates, {} rejected; decisions allow {}, review {}, block {}",
        totals.rows,
        totals.accepted,
        totals.duplicates,
        totals.rejected,
        totals.decisions[0],
        totals.decisions[1],
        totals.decisions[2]
    );
    for line in &totals.first_errors {
        eprintln!("{line}");
    }
    if totals.rejected > totals.first_errors.len() as u64 {
        eprintln!(
            "… and {} more rejected rows",
            totals.rejected - totals.first_errors.len() as u64
        );
    }
    Ok(())
}

fn import(
    settings: &Settings,
    store: &Store,
    file: File,
    size: u64,
    format: Format,
) -> anyhow::Result<Totals> {
    let engine = crate::scoring::start(settings, store, ModelSlot::default())?;
    let pipeline = Pipeline {
        store: store.clone(),
        engine,
        events: EventBus::default(),
        categorizer: Some(crate::expenses::categorize::Categorizer::new(
            &store
                .read()
                .and_then(|c| crate::expenses::categorize::load_corrections(&c))
                .unwrap_or_default(),
        )),
    };
    let read = Arc::new(AtomicU64::new(0));
    let input = Counting {
        inner: file,
        read: read.clone(),
    };
    let mut rows = match format {
        Format::Csv => Rows::Csv(CsvItems::new(input).map_err(anyhow::Error::msg)?),
        Format::Ndjson => Rows::Ndjson(BufReader::new(input).lines()),
    };
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let bar = indicatif::ProgressBar::new(size);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
        {
            bar.set_style(style);
        }
        bar
    });
    let runtime = super::runtime()?;
    let mut totals = Totals::default();
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        while chunk.len() < CHUNK {
            match rows.next_item() {
                Some(item) => chunk.push(item),
                None => break,
            }
        }
        if chunk.is_empty() {
            break;
        }
        let base = totals.rows;
        let results = runtime
            .block_on(pipeline.ingest(SENDER.into(), chunk, Defaults::default()))
            .context("the import failed; rows before this chunk were stored")?;
        for r in results {
            totals.rows += 1;
            let decision = match &r.outcome {
                ItemOutcome::Created(t) => {
                    totals.accepted += 1;
                    Some(t.decision.clone())
                }
                ItemOutcome::Duplicate(t) => {
                    totals.duplicates += 1;
                    Some(t.decision.clone())
                }
                ItemOutcome::Conflict => {
                    totals.rejected += 1;
                    note(
                        &mut totals,
                        base + r.index as u64,
                        "conflict: same external_id, different payload".into(),
                    );
                    None
                }
                ItemOutcome::Rejected(errors) => {
                    totals.rejected += 1;
                    let text = errors
                        .iter()
                        .map(|e| format!("{} {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    note(&mut totals, base + r.index as u64, text);
                    None
                }
            };
            match decision.as_deref() {
                Some("allow") => totals.decisions[0] += 1,
                Some("review") => totals.decisions[1] += 1,
                Some(_) => totals.decisions[2] += 1,
                None => {}
            }
        }
        let done = read.load(Ordering::Relaxed);
        match &bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(format!("{} rows", totals.rows));
            }
            None => println!("progress: {} rows, {} of {} bytes", totals.rows, done, size),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(totals)
}

fn note(totals: &mut Totals, row: u64, text: String) {
    if totals.first_errors.len() < 20 {
        // Row numbers are 1-based data rows (the CSV header is not counted).
        totals.first_errors.push(format!("row {}: {text}", row + 1));
    }
}
