using Dapper;
using Microsoft.Extensions.Logging;

namespace Newsletter.Storage;

/// <summary>
/// Versioned schema, applied in order at start-up; each step runs in its own transaction and
/// records its number, so a half-applied migration never sticks. Append new steps, never edit old ones.
/// </summary>
public sealed class Migrations(Database database, ILogger<Migrations> logger)
{
    private static readonly string[] Steps =
    [
        """
        CREATE TABLE entries (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            canonical_id   TEXT    NOT NULL UNIQUE,
            title          TEXT    NOT NULL,
            summary        TEXT    NOT NULL,
            authors        TEXT    NOT NULL,
            url            TEXT    NOT NULL,
            published_at   INTEGER NULL,
            score          INTEGER NOT NULL DEFAULT 0,
            source         TEXT    NOT NULL,
            first_seen_at  INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL
        );
        CREATE INDEX entries_first_seen ON entries (first_seen_at);

        CREATE TABLE source_state (
            name           TEXT    PRIMARY KEY,
            etag           TEXT    NULL,
            last_modified  TEXT    NULL,
            last_fetched_at INTEGER NULL,
            last_error     TEXT    NULL
        );

        CREATE TABLE subscribers (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            email            TEXT    NOT NULL,
            email_key        TEXT    NOT NULL UNIQUE,
            status           TEXT    NOT NULL,
            topics           TEXT    NOT NULL DEFAULT '',
            status_reason    TEXT    NULL,
            hard_bounces     INTEGER NOT NULL DEFAULT 0,
            created_at       INTEGER NOT NULL,
            confirmed_at     INTEGER NULL,
            unsubscribed_at  INTEGER NULL
        );
        CREATE INDEX subscribers_status ON subscribers (status, id);

        CREATE TABLE issues (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            issue_date   TEXT    NOT NULL UNIQUE,
            composed_at  INTEGER NOT NULL
        );

        CREATE TABLE issue_entries (
            issue_id  INTEGER NOT NULL REFERENCES issues (id),
            position  INTEGER NOT NULL,
            entry_id  INTEGER NOT NULL REFERENCES entries (id),
            PRIMARY KEY (issue_id, position)
        );

        CREATE TABLE deliveries (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            issue_id        INTEGER NOT NULL REFERENCES issues (id),
            subscriber_id   INTEGER NOT NULL REFERENCES subscribers (id),
            message_id      TEXT    NOT NULL,
            status          TEXT    NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            lease_until     INTEGER NULL,
            last_error      TEXT    NULL,
            created_at      INTEGER NOT NULL,
            sent_at         INTEGER NULL,
            UNIQUE (issue_id, subscriber_id)
        );
        CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at, id);

        CREATE TABLE settings (
            key    TEXT PRIMARY KEY,
            value  TEXT NOT NULL
        );
        """,
        """
        ALTER TABLE subscribers ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE subscribers ADD COLUMN pending_since INTEGER NULL;
        ALTER TABLE subscribers ADD COLUMN confirmation_sent_at INTEGER NULL;
        CREATE INDEX subscribers_pending ON subscribers (status, pending_since);
        """,
        """
        CREATE INDEX deliveries_claim ON deliveries (status, id);
        """,
        // Issue cap: papers past MaxEntriesPerIssue are listed compactly, and composing asks which papers
        // are in no issue yet (carry-over) instead of which were first seen since the previous one.
        """
        ALTER TABLE issue_entries ADD COLUMN compact INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX issue_entries_entry ON issue_entries (entry_id);
        """,
        // Lease owners: a run registers itself and beats; a run that finds an owner dead (its
        // process gone, or its heartbeat stale) takes that owner's claims at once.
        """
        CREATE TABLE run_owners (
            id            TEXT    PRIMARY KEY,
            host          TEXT    NOT NULL,
            pid           INTEGER NOT NULL,
            started_at    INTEGER NOT NULL,
            heartbeat_at  INTEGER NOT NULL
        );
        ALTER TABLE deliveries ADD COLUMN lease_owner TEXT NULL;
        """,
        // Duplicate keys are case-folded from now on. Existing keys fold unless two spellings of one
        // address are both on file already: those keep theirs (unconfirmed ones are purged in time).
        """
        UPDATE subscribers SET email_key = lower(email_key)
        WHERE email_key <> lower(email_key)
          AND NOT EXISTS (SELECT 1 FROM subscribers other WHERE other.id <> subscribers.id AND lower(other.email_key) = lower(subscribers.email_key));
        """,
    ];

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // WAL lets the web front read while the dispatcher writes; it is a property of the file.
        await database.PrepareFileAsync(connection, cancellationToken);
        // Up to date (the usual start): nothing to lock, so a busy or read-only file still serves reads.
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        if (await connection.ExecuteScalarAsync<long?>("SELECT MAX(version) FROM schema_version") == Steps.Length)
            return;
        // Two processes starting on a fresh database must not both apply step 1: the check and
        // every pending step run under one exclusive lock, and a second process waits, then finds
        // nothing left to do. All pending steps commit together, so a half-applied one never sticks.
        await using var transaction = await database.BeginMigrationLockAsync(connection, cancellationToken);
        var current = await connection.ExecuteScalarAsync<long?>("SELECT MAX(version) FROM schema_version", transaction: transaction) ?? 0;
        if (current > Steps.Length)
            throw new InvalidOperationException($"The database {database.DataSource} has schema version {current}, newer than this version of Newsletter knows ({Steps.Length}); run the newer version.");
        for (var version = (int)current + 1; version <= Steps.Length; version++)
        {
            await connection.ExecuteAsync(Steps[version - 1], transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO schema_version (version) VALUES (@version)", new { version }, transaction);
        }
        await transaction.CommitAsync(cancellationToken);
        if (current < Steps.Length)
            logger.LogInformation("Database schema migrated from version {From} to {Version} ({DataSource})", current, Steps.Length, database.DataSource);
    }
}
