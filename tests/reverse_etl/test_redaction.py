from reverse_etl.redaction import redact, redact_excerpt, redact_value, register_secret


def test_emails_phones_tokens_and_url_credentials_are_redacted():
    text = (
        "contact jane.doe+x@example.co.uk or +1 (415) 555-0100; Authorization: Bearer abc.def-123 "
        "url https://user:pw@api.example.com/x?access_token=EAAB123&api_key=k9 hash "
        "5d41402abc4b2a76b9719d911017c592aa"
    )
    cleaned = redact(text)
    for secret in ("jane.doe", "555-0100", "abc.def-123", "user:pw", "EAAB123", "k9", "5d41402abc"):
        assert secret not in cleaned
    assert "<email>" in cleaned and "<phone>" in cleaned


def test_redact_value_keeps_structure_and_non_strings():
    value = {"email": "a@b.io", "n": 12345678901, "nested": [{"phone": "+44 20 7946 0958"}]}
    assert redact_value(value) == {"email": "<email>", "n": 12345678901, "nested": [{"phone": "<phone>"}]}


def test_an_excerpt_never_shows_the_prefix_of_a_secret_cut_at_its_end():
    secret = "zq-SECRETVALUE-straddles-the-cut-9"
    register_secret(secret)
    body = "x" * 490 + secret + " tail"
    excerpt = redact_excerpt(body, 500)
    assert len(excerpt) == 500
    assert secret[:10] not in excerpt and "zq-SECRE" not in excerpt
    assert excerpt.startswith("x" * 490)
