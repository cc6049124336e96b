//! The benchmark's ceiling: what SQLite itself can do with the same rows, with no validation,
//! no keys, no upserts. `scripts/bench.sh` compares daihou against these two numbers.
//!
//!   cargo run --release --example ceiling -- insert TAPE_DIR DB   # plain prepared INSERTs, one transaction
//!   cargo run --release --example ceiling -- insert-keyed TAPE_DIR DB   # the same, into tables with the ledger's keys
//!   cargo run --release --example ceiling -- scan DB              # one ordered scan of schedule and repayments by loan
//!
//! The insert reads each CSV with the csv crate (byte records) and binds every field as text
//! into bare tables (no constraints, no indexes). The scan reads schedule and repayments in
//! loan order (the tape is written in loan order, so rowid order is loan order) and merges them
//! on the loan key, summing what each loan owes and paid: the least work a DPD pass must do.

use std::time::Instant;

use rusqlite::{params_from_iter, Connection};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("insert") if args.len() == 3 => insert(&args[1], &args[2], false),
        Some("insert-keyed") if args.len() == 3 => insert(&args[1], &args[2], true),
        Some("scan") if args.len() == 2 => scan(&args[1]),
        _ => {
            eprintln!("usage: ceiling insert|insert-keyed TAPE_DIR DB | ceiling scan DB");
            std::process::exit(2);
        }
    }
}

/// The primary keys and unique constraints of the ledger's tables (schema.sql), without which
/// a re-import could not find its rows: what `insert-keyed` adds to the bare tables.
fn keys_of(table: &str) -> (&'static str, &'static str) {
    match table {
        "loans" => (", PRIMARY KEY (loan_id)", ""),
        "schedule" => (", PRIMARY KEY (loan_id, installment_no)", " WITHOUT ROWID"),
        "repayments" => (
            ", PRIMARY KEY (loan_id, txn_id), UNIQUE (txn_id)",
            " WITHOUT ROWID",
        ),
        _ => ("", ""),
    }
}

fn insert(dir: &str, db: &str, keyed: bool) -> Result<(), Box<dyn std::error::Error>> {
    let _ = std::fs::remove_file(db);
    let mut conn = Connection::open(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;",
    )?;
    let t0 = Instant::now();
    let tx = conn.transaction()?;
    let mut total = 0u64;
    for table in ["loans", "schedule", "repayments", "followups"] {
        let path = std::path::Path::new(dir).join(format!("{table}.csv"));
        if !path.exists() {
            continue;
        }
        let mut rdr = csv::ReaderBuilder::new().from_path(&path)?;
        let headers: Vec<String> = rdr.headers()?.iter().map(String::from).collect();
        let (keys, suffix) = if keyed { keys_of(table) } else { ("", "") };
        tx.execute_batch(&format!(
            "CREATE TABLE {table} ({}{keys}){suffix}",
            headers.join(", ")
        ))?;
        let marks = vec!["?"; headers.len()].join(",");
        let mut stmt = tx.prepare(&format!("INSERT INTO {table} VALUES ({marks})"))?;
        let mut rec = csv::ByteRecord::new();
        let mut n = 0u64;
        while rdr.read_byte_record(&mut rec)? {
            stmt.execute(params_from_iter(
                rec.iter().map(|f| std::str::from_utf8(f).unwrap_or("")),
            ))?;
            n += 1;
        }
        eprintln!("ceiling insert {table}: {n} rows");
        total += n;
    }
    tx.commit()?;
    eprintln!(
        "ceiling insert: {total} rows in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn scan(db: &str) -> Result<(), Box<dyn std::error::Error>> {
    let conn = Connection::open(db)?;
    let t0 = Instant::now();
    let mut s =
        conn.prepare("SELECT loan_id, due_date, principal_due, interest_due FROM schedule")?;
    let mut r = conn.prepare("SELECT loan_id, paid_on, amount FROM repayments")?;
    let mut srows = s.query([])?;
    let mut rrows = r.query([])?;
    let mut pending: Option<(String, i64)> = None;
    let (mut loans, mut owed_total, mut paid_total) = (0u64, 0i64, 0i64);
    let mut current = String::new();
    let fen = |t: &str| -> i64 {
        let (a, b) = t.split_once('.').unwrap_or((t, "0"));
        a.parse::<i64>().unwrap_or(0) * 100 + b.parse::<i64>().unwrap_or(0)
    };
    while let Some(row) = srows.next()? {
        let id: String = row.get(0)?;
        let _due: String = row.get(1)?;
        let p: String = row.get(2)?;
        let i: String = row.get(3)?;
        owed_total += fen(&p) + fen(&i);
        if id != current {
            loans += 1;
            current = id;
            // Pull this loan's repayments (both streams are in loan order).
            loop {
                if pending.is_none() {
                    match rrows.next()? {
                        Some(rr) => {
                            let rid: String = rr.get(0)?;
                            let _on: String = rr.get(1)?;
                            let a: String = rr.get(2)?;
                            pending = Some((rid, fen(&a)));
                        }
                        None => break,
                    }
                }
                match &pending {
                    Some((rid, a)) if *rid <= current => {
                        paid_total += a;
                        pending = None;
                    }
                    _ => break,
                }
            }
        }
    }
    eprintln!(
        "ceiling scan: {loans} loans, owed {owed_total} fen, paid {paid_total} fen, {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
