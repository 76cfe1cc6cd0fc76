use super::*;
use serde_json::json;

fn claims(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn ordinary_claims_pass_the_size_check() {
    let c = claims(
        json!({"sub": "repo:acme/app:ref:refs/heads/main", "ref": "refs/heads/main", "run_id": 7}),
    );
    assert!(check_sizes(&c).is_ok());
}

#[test]
fn an_over_long_claim_is_refused_naming_it() {
    let c = claims(json!({"sub": "repo:acme/app", "ref": "r".repeat(MAX_CLAIM_BYTES + 1)}));
    let err = check_sizes(&c).unwrap_err().to_string();
    assert_eq!(err, "the token's `ref` claim is longer than 512 bytes");
    let nested = claims(json!({"sub": "s", "x": {"deep": ["€".repeat(200)]}}));
    assert!(check_sizes(&nested).is_err());
    let jti = claims(json!({"sub": "s", "jti": "j".repeat(MAX_JTI_BYTES + 1)}));
    assert!(check_sizes(&jti).unwrap_err().to_string().contains("`jti`"));
}

#[test]
fn too_many_claims_are_refused() {
    let c: Map<String, Value> = (0..=MAX_CLAIMS)
        .map(|i| (format!("c{i}"), json!(i)))
        .collect();
    assert!(check_sizes(&c)
        .unwrap_err()
        .to_string()
        .contains("at most 64"));
}
