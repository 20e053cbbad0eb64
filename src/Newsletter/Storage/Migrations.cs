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
    ];

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // WAL lets the web front read while the dispatcher writes; it is a property of the file.
        await connection.ExecuteAsync("PRAGMA journal_mode = WAL;");
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        var current = await connection.ExecuteScalarAsync<long?>("SELECT MAX(version) FROM schema_version") ?? 0;
        for (var version = (int)current + 1; version <= Steps.Length; version++)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(Steps[version - 1], transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO schema_version (version) VALUES (@version)", new { version }, transaction);
            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation("Database schema migrated to version {Version} ({DataSource})", version, database.DataSource);
        }
    }
}
