//! The anchor for `bench/redirects.sh`: how many referral click rows the backend stores per
//! second with one row per transaction (`BEGIN IMMEDIATE` on SQLite), through the same code a
//! redirect uses when group commit is off.
//!
//! `cargo run --release --example click_insert_rate -- DATABASE_URL PROGRAM_ID ENROLLMENT_ID ROWS THREADS`

use std::time::Instant;

use credo::db::{self, DatabaseTarget, SqliteSync};
use credo::referrals::recorder::ClickRecorder;
use credo::referrals::store::NewClick;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, program, enrollment, rows, threads] = args.as_slice() else {
        return Err(
            "usage: click_insert_rate DATABASE_URL PROGRAM_ID ENROLLMENT_ID ROWS THREADS".into(),
        );
    };
    let rows: usize = rows.parse().map_err(|_| "ROWS must be a number")?;
    let threads: usize = threads.parse().map_err(|_| "THREADS must be a number")?;
    let target = DatabaseTarget::parse(url).map_err(|e| e.to_string())?;
    let pool = db::connect(
        &target,
        u32::try_from(threads).unwrap_or(1),
        SqliteSync::Normal,
    )
    .map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().naive_utc();
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let pool = pool.clone();
            let (program, enrollment) = (program.clone(), enrollment.clone());
            std::thread::spawn(move || -> Result<(), String> {
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                for _ in 0..rows / threads {
                    let click = NewClick {
                        id: db::new_id(),
                        program_id: program.clone(),
                        enrollment_id: enrollment.clone(),
                        at: now,
                        ip_hash: "0".repeat(64),
                        ua_hash: "0".repeat(64),
                        referrer: None,
                        landing: "https://bench.example/?credo_click=x".into(),
                        is_bot: false,
                    };
                    ClickRecorder::write_one(&mut conn, &click).map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| "insert thread panicked")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = rows / threads * threads;
    println!("{:.0}", done as f64 / elapsed);
    Ok(())
}
