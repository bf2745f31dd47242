-- The dev stack's MySQL fixture, loaded by scripts/backends.sh when it
-- creates a server and again by `scripts/backends.sh fixture`: every
-- database is dropped and built afresh, so loading it resets the data.
--   faed_lookup  pool ShardLookup: UserLookup maps entities to shards
--   faed_global  pool Global: Counter, Doc, Event
--   faed_shard1  server UserShard1 of the sharded pool UserShard
--   faed_shard2  server UserShard2
-- Entities 1-1000 live on shard 1 when odd and 2 when even; entity 999999
-- is being moved (shardLock = 1). UserInfo holds uid 1-20 on their shards.

DROP DATABASE IF EXISTS faed_lookup;
DROP DATABASE IF EXISTS faed_global;
DROP DATABASE IF EXISTS faed_shard1;
DROP DATABASE IF EXISTS faed_shard2;
CREATE DATABASE faed_lookup CHARACTER SET utf8mb4;
CREATE DATABASE faed_global CHARACTER SET utf8mb4;
CREATE DATABASE faed_shard1 CHARACTER SET utf8mb4;
CREATE DATABASE faed_shard2 CHARACTER SET utf8mb4;

CREATE TABLE faed_lookup.UserLookup (
	entityId BIGINT PRIMARY KEY,
	shardId INT NOT NULL,
	shardLock INT NOT NULL DEFAULT 0
) ENGINE=InnoDB;
-- seq_1_to_N is MariaDB's sequence engine; it needs a current database.
USE faed_lookup;
INSERT INTO faed_lookup.UserLookup (entityId, shardId)
	SELECT seq, IF(seq % 2 = 1, 1, 2) FROM seq_1_to_1000;
INSERT INTO faed_lookup.UserLookup VALUES (999999, 1, 1);

CREATE TABLE faed_global.Counter (name VARCHAR(64) PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB;
CREATE TABLE faed_global.Doc (id BIGINT PRIMARY KEY, data TEXT NOT NULL) ENGINE=InnoDB;
CREATE TABLE faed_global.Event (id BIGINT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(64)) ENGINE=InnoDB;

CREATE TABLE faed_shard1.UserInfo (
	uid BIGINT PRIMARY KEY,
	name VARCHAR(64) NOT NULL,
	power INT NOT NULL DEFAULT 0,
	gold INT NULL,
	data TEXT NULL
) ENGINE=InnoDB;
CREATE TABLE faed_shard2.UserInfo LIKE faed_shard1.UserInfo;
INSERT INTO faed_shard1.UserInfo (uid, name, power)
	SELECT seq, CONCAT('u', seq), seq FROM seq_1_to_20 WHERE seq % 2 = 1;
INSERT INTO faed_shard2.UserInfo (uid, name, power)
	SELECT seq, CONCAT('u', seq), seq FROM seq_1_to_20 WHERE seq % 2 = 0;

CREATE USER IF NOT EXISTS 'faed'@'127.0.0.1' IDENTIFIED BY 'faed';
CREATE USER IF NOT EXISTS 'faed'@'localhost' IDENTIFIED BY 'faed';
GRANT ALL ON `faed\_%`.* TO 'faed'@'127.0.0.1';
GRANT ALL ON `faed\_%`.* TO 'faed'@'localhost';
