//! Open-loop load of exam answer saves for `bench/answer-saves.sh` (a compiled generator, so it
//! does not steal the server's CPU the way a script would).
//!
//! Sets up N candidates in the database the running `credo serve` uses (same `CREDO_*`
//! environment): accounts made with one password hash, sessions minted with the server's keys,
//! then each candidate starts an attempt through `POST /api/v1/exams/{vendor}/{exam}/attempts`.
//! For each offered rate, every candidate saves answers on its own keep-alive connection on a
//! fixed schedule (rate / N saves per second each, one request at a time, like a person
//! clicking). Latency is measured from the *scheduled* send time (latency correction: a server
//! that falls behind shows in the percentiles instead of slowing the load down).
//!
//! `cargo run --release --example answer_load -- BASE_URL VENDOR/EXAM CANDIDATES RATES SECONDS LABEL`
//!
//! Prints one line per rate and then the highest offered rate whose p99 stayed under 20 ms; stops
//! after the first rate that misses it. Then the same schedule of `GET /healthz` (no session, no
//! database): the rate this machine's HTTP stack and this generator sustain at all, which bounds
//! any endpoint's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use credo::app::AppState;
use credo::config::{Config, Overrides};

const P99_GOAL: Duration = Duration::from_millis(20);

struct Candidate {
    token: String,
    attempt: String,
    /// (question handle, choice handles) of the candidate's form.
    questions: Vec<(String, Vec<String>)>,
}

/// What each scheduled request is.
#[derive(Clone, Copy)]
enum Request {
    /// `PUT /api/v1/attempts/{id}/answers/{question}` with the candidate's session.
    Save,
    /// `GET /healthz`: the HTTP ceiling.
    Healthz,
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, exam, candidates, rates, seconds, label] = args.as_slice() else {
        return Err(
            "usage: answer_load BASE_URL VENDOR/EXAM CANDIDATES RATES SECONDS LABEL".into(),
        );
    };
    let count: usize = candidates.parse().map_err(|_| "CANDIDATES: a number")?;
    let seconds: f64 = seconds.parse().map_err(|_| "SECONDS: a number")?;
    let rates = rates
        .split(',')
        .map(|r| r.trim().parse::<f64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "RATES: numbers separated by commas")?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(count)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;

    let started = Instant::now();
    let candidates = Arc::new(prepare(&client, base, exam, count).await?);
    println!(
        "{label}: {count} candidates with an open attempt each, set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    for (request, what) in [(Request::Save, "saves"), (Request::Healthz, "GET /healthz")] {
        let mut best = None;
        for &rate in &rates {
            let outcome = run_rate(&client, base, &candidates, request, rate, seconds).await;
            let mut sorted = outcome.latencies.clone();
            sorted.sort();
            let pct = |p: f64| {
                sorted
                    .get(((p / 100.0 * sorted.len() as f64).ceil() as usize).saturating_sub(1))
                    .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
            };
            let achieved = outcome.latencies.len() as f64 / seconds;
            let p99 = pct(99.0);
            println!(
                "{label}: {what:<12} offered {rate:>6.0}/s  achieved {achieved:>6.0}/s  p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {p99:>7.2} ms  max {:>8.2} ms  errors {}",
                pct(50.0),
                pct(90.0),
                pct(100.0),
                outcome.errors
            );
            if outcome.errors == 0 && p99 < P99_GOAL.as_secs_f64() * 1000.0 {
                best = Some(rate);
            } else {
                break;
            }
        }
        match best {
            Some(rate) => {
                println!("{label}: highest offered rate with p99 < 20 ms for {what}: {rate:.0}/s")
            }
            None => println!("{label}: no offered rate kept p99 under 20 ms for {what}"),
        }
    }
    Ok(())
}

/// Candidates `bench-<i>@bench.test` (made here when missing), a session each, an open attempt each.
async fn prepare(
    client: &reqwest::Client,
    base: &str,
    exam: &str,
    count: usize,
) -> Result<Vec<Candidate>, String> {
    let config = Config::load(&Overrides::default()).map_err(|e| e.to_string())?;
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let hash = credo::accounts::password::hash_new("bench password 1234")
        .await
        .map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let hours = state.config.session_hours;
    let keys = state.session_keys.clone();
    let tokens: Vec<String> = state
        .tx(move |conn| {
            (0..count)
                .map(|i| {
                    let email = format!("bench-{i}@bench.test");
                    let user_id = match credo::accounts::find_account(conn, &email) {
                        Ok(user) => user.id,
                        Err(_) => credo::accounts::create_verified_user(
                            conn,
                            &email,
                            &hash,
                            &format!("Candidate {i}"),
                            false,
                            now,
                        )?,
                    };
                    credo::accounts::start_session(conn, &keys, &user_id, hours, now)
                        .map(|login| login.token)
                })
                .collect::<Result<Vec<_>, credo::accounts::AccountError>>()
        })
        .await
        .map_err(|e| e.to_string())?;

    let mut candidates = Vec::with_capacity(count);
    for token in tokens {
        let response = client
            .post(format!("{base}/api/v1/exams/{exam}/attempts"))
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        if status != 201 {
            return Err(format!("starting an attempt: {status} {body}"));
        }
        let questions = body["questions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|q| {
                let choices = q["choices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["id"].as_str().map(str::to_owned))
                    .collect();
                (q["id"].as_str().unwrap_or_default().to_owned(), choices)
            })
            .collect();
        candidates.push(Candidate {
            token,
            attempt: body["id"].as_str().unwrap_or_default().to_owned(),
            questions,
        });
    }
    Ok(candidates)
}

/// Every candidate saves on its own schedule for `seconds`; all together offer `rate` saves/s.
async fn run_rate(
    client: &reqwest::Client,
    base: &str,
    candidates: &Arc<Vec<Candidate>>,
    request: Request,
    rate: f64,
    seconds: f64,
) -> Outcome {
    let n = candidates.len();
    let interval = Duration::from_secs_f64(n as f64 / rate);
    let per_candidate = ((seconds * rate / n as f64).round() as usize).max(1);
    let start = tokio::time::Instant::now() + Duration::from_millis(500);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (client, candidates, base) = (client.clone(), candidates.clone(), base.to_owned());
            tokio::spawn(async move {
                let candidate = &candidates[i];
                let mut outcome = Outcome::default();
                // Candidates spread evenly over one interval.
                let first = start + interval.mul_f64(i as f64 / n as f64);
                for k in 0..per_candidate {
                    let scheduled = first + interval * k as u32;
                    tokio::time::sleep_until(scheduled).await;
                    let (question, choices) =
                        &candidate.questions[(i + k) % candidate.questions.len()];
                    let choice = &choices[k % choices.len()];
                    let (sent, expected) = match request {
                        Request::Save => (
                            client
                                .put(format!(
                                    "{base}/api/v1/attempts/{}/answers/{question}",
                                    candidate.attempt
                                ))
                                .bearer_auth(&candidate.token)
                                .json(&serde_json::json!({ "choices": [choice] }))
                                .send()
                                .await,
                            204,
                        ),
                        Request::Healthz => {
                            (client.get(format!("{base}/healthz")).send().await, 200)
                        }
                    };
                    match sent {
                        Ok(response) if response.status() == expected => {
                            outcome.latencies.push(scheduled.elapsed());
                        }
                        _ => outcome.errors += 1,
                    }
                }
                outcome
            })
        })
        .collect();
    let mut total = Outcome::default();
    for task in tasks {
        if let Ok(outcome) = task.await {
            total.latencies.extend(outcome.latencies);
            total.errors += outcome.errors;
        }
    }
    total
}
