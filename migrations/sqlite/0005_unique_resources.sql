-- `/Resource/{hostname}` names one resource: the SSH target named after that host. Two of them
-- made the name ambiguous, and POST /Resource's "does it exist" check could not stop two
-- concurrent creates, so the store enforces it: `resource_host` holds the lower-cased host of
-- each SSH target whose name is its host (NULL for every other target), and is unique.
-- Target names in general are not unique (two targets may share a name), and neither are hosts:
-- several SSH checks of one host are fine as long as at most one is named after it.

ALTER TABLE targets ADD COLUMN resource_host TEXT;

UPDATE targets SET resource_host = lower(json_extract(spec, '$.host'))
 WHERE kind = 'ssh' AND lower(name) = lower(json_extract(spec, '$.host'));

-- A database from before may hold several: the oldest stays the resource, each other one is
-- renamed "<host> (duplicate <its id>)" (in its column and its definition alike) so that nothing
-- is lost and this migration cannot fail on them.
UPDATE targets
   SET name = substr(name, 1, 150) || ' (duplicate ' || id || ')',
       spec = json_set(spec, '$.name', substr(name, 1, 150) || ' (duplicate ' || id || ')'),
       resource_host = NULL
 WHERE resource_host IS NOT NULL
   AND EXISTS (SELECT 1 FROM targets AS older
                WHERE older.resource_host = targets.resource_host
                  AND (older.created_at < targets.created_at
                       OR (older.created_at = targets.created_at AND older.id < targets.id)));

CREATE UNIQUE INDEX targets_resource_host ON targets (resource_host) WHERE resource_host IS NOT NULL;
