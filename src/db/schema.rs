// One schema for both backends, written by hand with types common to SQLite and PostgreSQL
// (Text, Integer, BigInt, Bool, Timestamp, Binary). It mirrors migrations/*/up.sql.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        is_operator -> Bool,
        email_verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        profile_handle -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    vendors (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        url -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    vendor_members (id) {
        id -> Text,
        vendor_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        vendor_id -> Text,
        name -> Text,
        key_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        scopes -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        message_id -> Text,
        to_address -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Nullable<Text>,
        attachments -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        scrub_after_send -> Bool,
    }
}

diesel::table! {
    exams (id) {
        id -> Text,
        vendor_id -> Text,
        slug -> Text,
        title -> Text,
        description -> Text,
        current_version_id -> Nullable<Text>,
        price_minor -> BigInt,
        currency -> Text,
        duration_minutes -> Integer,
        pass_percent -> Integer,
        validity_months -> Integer,
        allow_review -> Bool,
        renewal_exam_slug -> Nullable<Text>,
        retake_cooldown_days -> Integer,
        retake_max_per_year -> Integer,
        retake_wait_after_pass_days -> Integer,
        questions_per_form -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    exam_versions (id) {
        id -> Text,
        exam_id -> Text,
        number -> Integer,
        label -> Text,
        content_hash -> Text,
        bank -> Text,
        source_format -> Text,
        source_name -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        state -> Text,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        exam_id -> Text,
        user_id -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        provider -> Text,
        status -> Text,
        reference -> Nullable<Text>,
        attempt_id -> Nullable<Text>,
        created_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
        marked_paid_by -> Nullable<Text>,
    }
}

diesel::table! {
    vouchers (id) {
        id -> Text,
        exam_id -> Text,
        code -> Text,
        batch_id -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        redeemed_by -> Nullable<Text>,
        redeemed_at -> Nullable<Timestamp>,
        order_id -> Nullable<Text>,
    }
}

diesel::table! {
    attempts (id) {
        id -> Text,
        exam_id -> Text,
        version_id -> Text,
        user_id -> Text,
        order_id -> Nullable<Text>,
        status -> Text,
        form -> Text,
        started_at -> Timestamp,
        deadline -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        graded_at -> Nullable<Timestamp>,
        graded_by -> Nullable<Text>,
        score_bp -> Nullable<Integer>,
        passed -> Nullable<Bool>,
        result -> Nullable<Text>,
        preview -> Bool,
    }
}

diesel::table! {
    attempt_answers (attempt_id, question_id) {
        attempt_id -> Text,
        question_id -> Text,
        choices -> Text,
        saved_at -> Timestamp,
    }
}

diesel::table! {
    attempt_flags (attempt_id, question_id) {
        attempt_id -> Text,
        question_id -> Text,
        flagged_at -> Timestamp,
    }
}

diesel::table! {
    attempt_items (attempt_id, question_id) {
        attempt_id -> Text,
        question_id -> Text,
        position -> Integer,
        domain_id -> Text,
        points_milli -> Integer,
        correct -> Bool,
    }
}

diesel::table! {
    exam_badges (exam_id) {
        exam_id -> Text,
        format -> Text,
        image -> Binary,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    issuer_keys (id) {
        id -> Text,
        scope -> Text,
        vendor_id -> Nullable<Text>,
        public_key_multibase -> Text,
        sealed_seed -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    status_lists (id) {
        id -> Text,
        vendor_id -> Text,
        number -> Integer,
        size -> Integer,
        bits -> Binary,
        credential -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    status_list_slots (list_id) {
        list_id -> Text,
        allocated -> Integer,
    }
}

diesel::table! {
    credentials (id) {
        id -> Text,
        vendor_id -> Text,
        exam_id -> Text,
        attempt_id -> Text,
        user_id -> Text,
        issuer_key_id -> Text,
        status_list_id -> Text,
        status_index -> Integer,
        json -> Text,
        valid_from -> Timestamp,
        valid_until -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        revocation_reason -> Nullable<Text>,
        revoked_by -> Nullable<Text>,
        superseded_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    credential_reminders (credential_id, days_before) {
        credential_id -> Text,
        days_before -> Integer,
        queued_at -> Timestamp,
    }
}

diesel::table! {
    vendor_credential_settings (vendor_id) {
        vendor_id -> Text,
        cryptosuite -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    programs (id) {
        id -> Text,
        vendor_id -> Text,
        currency -> Text,
        landing_url -> Text,
        attribution_window_days -> Integer,
        hold_days -> Integer,
        commission_months -> Integer,
        min_payout_minor -> BigInt,
        terms_version -> Text,
        terms_text -> Text,
        webhook_secret -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        previous_webhook_secret -> Nullable<Text>,
        previous_webhook_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tiers (id) {
        id -> Text,
        program_id -> Text,
        code -> Text,
        rank -> Integer,
        rate_bps -> Integer,
        requires -> Text,
        name -> Text,
    }
}

diesel::table! {
    enrollments (id) {
        id -> Text,
        program_id -> Text,
        user_id -> Text,
        referral_code -> Text,
        tier_code -> Text,
        terms_accepted_version -> Text,
        status -> Text,
        enrolled_at -> Timestamp,
        updated_at -> Timestamp,
        tier_checked_at -> Timestamp,
    }
}

diesel::table! {
    tier_changes (id) {
        id -> Text,
        enrollment_id -> Text,
        from_tier -> Nullable<Text>,
        to_tier -> Text,
        reason -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    clicks (id) {
        id -> Text,
        program_id -> Text,
        enrollment_id -> Text,
        at -> Timestamp,
        ip_hash -> Text,
        ua_hash -> Text,
        referrer -> Nullable<Text>,
        landing -> Text,
        is_bot -> Bool,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        program_id -> Text,
        external_id -> Text,
        enrollment_id -> Text,
        click_id -> Nullable<Text>,
        email -> Nullable<Text>,
        bound_at -> Timestamp,
    }
}

diesel::table! {
    billing_events (id) {
        id -> Text,
        program_id -> Text,
        source -> Text,
        external_event_id -> Text,
        kind -> Text,
        invoice_id -> Text,
        customer_external_id -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        occurred_at -> Timestamp,
        payload -> Text,
        effect -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    payouts (id) {
        id -> Text,
        program_id -> Text,
        enrollment_id -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        status -> Text,
        reference -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    commissions (id) {
        id -> Text,
        program_id -> Text,
        enrollment_id -> Text,
        customer_id -> Text,
        billing_event_id -> Text,
        invoice_id -> Text,
        kind -> Text,
        base_minor -> BigInt,
        rate_bps -> Integer,
        amount_minor -> BigInt,
        currency -> Text,
        status -> Text,
        held -> Bool,
        held_reason -> Nullable<Text>,
        hold_until -> Timestamp,
        tier_snapshot -> Text,
        payout_id -> Nullable<Text>,
        reverses_id -> Nullable<Text>,
        idempotency_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    commission_transitions (id) {
        id -> Text,
        commission_id -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Text,
        actor -> Nullable<Text>,
        at -> Timestamp,
    }
}
diesel::table! {
    audit_events (id) {
        id -> Text,
        vendor_id -> Nullable<Text>,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_display -> Text,
        action -> Text,
        subject_type -> Text,
        subject_id -> Text,
        details -> Text,
        client_address -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        vendor_id -> Text,
        url -> Text,
        events -> Text,
        secret_sealed -> Text,
        created_at -> Timestamp,
        secret_rotated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        event_type -> Text,
        subject_id -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        retry_from -> Timestamp,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    stripe_settings (vendor_id) {
        vendor_id -> Text,
        webhook_secret -> Text,
        secret_hint -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    exam_checkout (exam_id) {
        exam_id -> Text,
        payment_link -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    stripe_events (vendor_id, event_id) {
        vendor_id -> Text,
        event_id -> Text,
        event_type -> Text,
        order_id -> Nullable<Text>,
        outcome -> Text,
        detail -> Text,
        received_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(vendor_members -> users (user_id));
diesel::joinable!(vendor_members -> vendors (vendor_id));
diesel::joinable!(api_keys -> vendors (vendor_id));
diesel::joinable!(exams -> vendors (vendor_id));
diesel::joinable!(exam_versions -> exams (exam_id));
diesel::joinable!(orders -> exams (exam_id));
diesel::joinable!(vouchers -> exams (exam_id));
diesel::joinable!(attempts -> exams (exam_id));
diesel::joinable!(attempts -> users (user_id));
diesel::joinable!(attempts -> exam_versions (version_id));
diesel::joinable!(attempt_answers -> attempts (attempt_id));
diesel::joinable!(attempt_flags -> attempts (attempt_id));
diesel::joinable!(attempt_items -> attempts (attempt_id));
diesel::joinable!(issuer_keys -> vendors (vendor_id));
diesel::joinable!(exam_badges -> exams (exam_id));
diesel::joinable!(status_lists -> vendors (vendor_id));
diesel::joinable!(status_list_slots -> status_lists (list_id));
diesel::joinable!(credentials -> vendors (vendor_id));
diesel::joinable!(credentials -> exams (exam_id));
diesel::joinable!(credentials -> users (user_id));
diesel::joinable!(credentials -> status_lists (status_list_id));
diesel::joinable!(credentials -> issuer_keys (issuer_key_id));
diesel::joinable!(credential_reminders -> credentials (credential_id));
diesel::joinable!(programs -> vendors (vendor_id));
diesel::joinable!(tiers -> programs (program_id));
diesel::joinable!(enrollments -> programs (program_id));
diesel::joinable!(enrollments -> users (user_id));
diesel::joinable!(tier_changes -> enrollments (enrollment_id));
diesel::joinable!(clicks -> enrollments (enrollment_id));
diesel::joinable!(customers -> enrollments (enrollment_id));
diesel::joinable!(billing_events -> programs (program_id));
diesel::joinable!(commissions -> enrollments (enrollment_id));
diesel::joinable!(commissions -> customers (customer_id));
diesel::joinable!(commissions -> billing_events (billing_event_id));
diesel::joinable!(commissions -> payouts (payout_id));
diesel::joinable!(commission_transitions -> commissions (commission_id));
diesel::joinable!(payouts -> enrollments (enrollment_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));

diesel::joinable!(exam_checkout -> exams (exam_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    email_tokens,
    vendors,
    vendor_members,
    api_keys,
    outbox,
    exams,
    exam_versions,
    orders,
    vouchers,
    attempts,
    attempt_answers,
    attempt_flags,
    attempt_items,
    exam_badges,
    issuer_keys,
    status_lists,
    status_list_slots,
    credentials,
    credential_reminders,
    programs,
    tiers,
    enrollments,
    tier_changes,
    clicks,
    customers,
    billing_events,
    payouts,
    commissions,
    commission_transitions,
    webhook_endpoints,
    webhook_deliveries,
    stripe_settings,
    exam_checkout,
    stripe_events,
);
