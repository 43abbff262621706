//! Credential signing and verification against raw Ed25519, measured side by side in one run:
//! eddsa-rdfc-2022 (the default) next to eddsa-jcs-2022.
//! Goal (PERFORMANCE.md): eddsa-jcs-2022 verify ≥ 50% of raw Ed25519 verify_strict throughput.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use credo::credentials::{
    badge, did, jcs, proof, rdfc, status_list, verify, BadgeInput, IssuerKey, StaticResolver,
};
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer, SigningKey};
use url::Url;
use uuid::Uuid;

const ISSUER_DID: &str = "did:web:credo.example.org:issuers:northwind-cloud-academy";

fn realistic_input() -> BadgeInput {
    let list_url =
        Url::parse("https://credo.example.org/status/northwind-cloud-academy/3").unwrap();
    BadgeInput {
        credential_id: Uuid::parse_str("0193c8a4-3c1e-7b2d-9f00-1a2b3c4d5e6f").unwrap(),
        person_id: Uuid::parse_str("0193c8a4-0000-7000-8000-00000000a11c").unwrap(),
        holder_email: "alexandra.martinez-oduya@contoso-engineering.example".into(),
        salt: "9c1f3b7e2a4d6c8e0f1a3b5c7d9e1f2a".into(),
        holder_name: Some("Alexandra Martínez-Oduya".into()),
        issuer_did: ISSUER_DID.into(),
        issuer_name: "Northwind Cloud Academy".into(),
        issuer_url: Url::parse("https://www.northwind-cloud-academy.example/").unwrap(),
        achievement_id: Url::parse(
            "https://credo.example.org/vendors/northwind-cloud-academy/exams/solutions-architect-professional",
        )
        .unwrap(),
        achievement_name: "Northwind Certified Solutions Architect – Professional".into(),
        achievement_description: "Validates advanced skills in designing distributed systems on the \
            Northwind cloud: multi-region networking, identity federation, storage tiering, cost \
            governance, disaster recovery with defined RPO/RTO targets, migration planning, and \
            observability across hybrid estates. Holders design architectures that are secure, \
            resilient, performant and cost-effective, and can justify trade-offs to stakeholders."
            .into(),
        achievement_image: Some(
            Url::parse(
                "https://credo.example.org/badges/northwind-cloud-academy/solutions-architect-professional.png",
            )
            .unwrap(),
        ),
        pass_percent: 72,
        evidence_url: Url::parse(
            "https://credo.example.org/attempts/0193c8a4-1111-7000-8000-000000000002",
        )
        .unwrap(),
        evidence_name: "Solutions Architect – Professional exam, bank version 2025.2".into(),
        evidence_description: "Timed online exam of 75 questions across 6 domains (design for \
            organizational complexity, new solutions, migration planning, cost control, \
            continuous improvement, security); attempt graded on 2025-11-14 with a score of 81%."
            .into(),
        valid_from: "2025-11-14T09:41:07Z".parse().unwrap(),
        valid_until: Some("2028-11-14T09:41:07Z".parse().unwrap()),
        status: status_list::status_entry(&list_url, 118_734),
    }
}

fn bench(c: &mut Criterion) {
    let created: DateTime<Utc> = "2025-11-14T09:41:08Z".parse().unwrap();
    let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let raw_key = SigningKey::from_bytes(&[7u8; 32]);
    let raw_public = raw_key.verifying_key();
    let message = [0x5au8; 64];
    let raw_signature = raw_key.sign(&message);

    let issuer = IssuerKey::new(ISSUER_DID, SigningKey::from_bytes(&[11u8; 32]));
    let jcs_issuer = issuer
        .clone()
        .with_cryptosuite(proof::Cryptosuite::EddsaJcs2022);
    let input = realistic_input();
    let unsigned = badge::build_credential(&input).unwrap();
    let signed = badge::issue_credential(&input, &issuer, created).unwrap();
    let signed_jcs = badge::issue_credential(&input, &jcs_issuer, created).unwrap();
    let unsigned_map = unsigned.as_object().unwrap().clone();
    eprintln!(
        "credential: {} bytes unsigned, {} bytes signed",
        unsigned.to_string().len(),
        signed.json.len()
    );
    let public = issuer.verifying_key();
    proof::verify(&signed.value, &public).unwrap();
    proof::verify(&signed_jcs.value, &public).unwrap();

    let list_url =
        Url::parse("https://credo.example.org/status/northwind-cloud-academy/3").unwrap();
    let list = status_list::status_list_credential(
        &list_url,
        ISSUER_DID,
        "Northwind Cloud Academy",
        created,
        Some(300_000),
        &status_list::Bitstring::default(),
    )
    .unwrap();
    let mut resolver = StaticResolver::new();
    resolver
        .add_did_document(did::did_document(ISSUER_DID, &[issuer.verifying_key()]))
        .unwrap();
    resolver
        .add_status_list(issuer.sign(&list, created).unwrap())
        .unwrap();
    assert!(verify::verify_credential(&signed.value, &resolver, now).verified());

    let mut group = c.benchmark_group("credentials");
    group.bench_function("raw_ed25519_sign_64B", |b| {
        b.iter(|| raw_key.sign(black_box(&message)))
    });
    group.bench_function("raw_ed25519_verify_strict_64B", |b| {
        b.iter(|| raw_public.verify_strict(black_box(&message), black_box(&raw_signature)))
    });
    group.bench_function("jcs_canonicalize_credential", |b| {
        b.iter(|| jcs::canonicalize(black_box(&unsigned)))
    });
    group.bench_function("eddsa_jcs_2022_sign_credential", |b| {
        b.iter(|| jcs_issuer.sign(black_box(&unsigned), created))
    });
    group.bench_function("eddsa_jcs_2022_verify_credential", |b| {
        b.iter(|| proof::verify(black_box(&signed_jcs.value), &public))
    });
    group.bench_function("rdfc_canonicalize_credential", |b| {
        b.iter(|| {
            rdfc::canonicalize_document(
                black_box(&unsigned_map),
                unsigned_map.get("@context"),
                "proof",
            )
        })
    });
    group.bench_function("eddsa_rdfc_2022_sign_credential", |b| {
        b.iter(|| issuer.sign(black_box(&unsigned), created))
    });
    group.bench_function("eddsa_rdfc_2022_verify_credential", |b| {
        b.iter(|| proof::verify(black_box(&signed.value), &public))
    });
    group.bench_function("engine_verify_credential_with_status", |b| {
        b.iter(|| verify::verify_credential(black_box(&signed.value), &resolver, now))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
