-- A CI token's `jti` is remembered for as long as the token is accepted: its expiry plus the 30 s
-- of clock leeway the verification allows (`LEEWAY_SECONDS` in server/src/ci/verify.rs) plus the
-- second its whole-second clock adds. Rows written before kept only the expiry, so a token just
-- past it, still within the leeway, could be replayed once cleanup had removed its row; they get
-- the same window now.
UPDATE ci_token_uses SET expires_at = expires_at + interval '31 seconds';
