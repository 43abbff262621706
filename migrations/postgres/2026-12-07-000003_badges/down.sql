DROP TABLE exam_badges;
DROP INDEX issuer_keys_one_active_instance;
DELETE FROM issuer_keys WHERE scope = 'instance';
ALTER TABLE issuer_keys DROP CONSTRAINT issuer_keys_scope_vendor;
ALTER TABLE issuer_keys ALTER COLUMN vendor_id SET NOT NULL;
ALTER TABLE issuer_keys DROP COLUMN scope;
