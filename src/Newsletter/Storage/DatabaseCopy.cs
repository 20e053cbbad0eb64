using System.Data.Common;
using System.Text;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;

namespace Newsletter.Storage;

public sealed record CopiedTable(string Table, long Rows);

/// <summary>A copy that cannot be made, with the one sentence that says why (nothing was written).</summary>
public sealed class DatabaseCopyException(string message) : Exception(message);

/// <summary>
/// Copies every row of every table from one database into an empty one (SQLite to PostgreSQL or
/// back), ids included, in one target transaction: either all of it arrives or nothing does.
/// Settings travel too, so the link secret and therefore every link already mailed keep working.
/// Quartz's tables are not copied: the schedule is rebuilt from configuration at start.
/// </summary>
public sealed class DatabaseCopy(Database source)
{
    /// <summary>Parents before children (foreign keys); a table not listed here stops the copy.</summary>
    internal static readonly string[] Tables =
    [
        "settings", "source_state", "entries", "entry_sources", "subscribers", "issues", "issue_entries",
        "digests", "digest_entries", "digest_skips", "run_owners", "deliveries", "votes",
        "data_protection_keys", "rate_limits", "source_runs", "bounce_events", "suppressions", "relay_outages",
    ];

    private static readonly HashSet<string> NotCopied = ["schema_version"];

    private const int RowsPerInsert = 500;

    public async Task<IReadOnlyList<CopiedTable>> CopyAsync(Database target, Action<CopiedTable>? progress, CancellationToken cancellationToken)
    {
        await new Migrations(target, NullLogger<Migrations>.Instance).ApplyAsync(cancellationToken);
        await using var from = await source.OpenAsync(cancellationToken);
        await using var to = await target.OpenAsync(cancellationToken);

        var unknown = (await TableNamesAsync(source, from)).Where(t => !Tables.Contains(t) && !NotCopied.Contains(t)).ToList();
        if (unknown.Count > 0)
            throw new DatabaseCopyException($"The source has tables this version does not know how to copy ({string.Join(", ", unknown)}); nothing was copied.");
        foreach (var table in Tables)
        {
            if (await to.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table}") is var rows and > 0)
                throw new DatabaseCopyException($"The target database is not empty ({table} has {rows} rows): database copy only fills an empty database; nothing was copied.");
        }

        var copied = new List<CopiedTable>();
        await using var transaction = await to.BeginTransactionAsync(cancellationToken);
        foreach (var table in Tables)
        {
            var rows = await CopyTableAsync(from, to, transaction, table, cancellationToken);
            if (target.IsPostgres && await HasIdentityAsync(to, transaction, table))
            {
                // Rows came with their ids; the identity continues after the highest one.
                await to.ExecuteAsync($"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)", transaction: transaction);
            }
            var result = new CopiedTable(table, rows);
            copied.Add(result);
            progress?.Invoke(result);
        }
        await transaction.CommitAsync(cancellationToken);
        return copied;
    }

    private static async Task<long> CopyTableAsync(DbConnection from, DbConnection to, DbTransaction transaction, string table, CancellationToken cancellationToken)
    {
        await using var command = from.CreateCommand();
        command.CommandText = $"SELECT * FROM {table}";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
        var batch = new List<object?[]>(RowsPerInsert);
        long rows = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var values = new object?[columns.Length];
            for (var i = 0; i < columns.Length; i++)
                values[i] = await reader.IsDBNullAsync(i, cancellationToken) ? null : reader.GetValue(i);
            batch.Add(values);
            if (batch.Count == RowsPerInsert)
                rows += await InsertAsync(to, transaction, table, columns, batch, cancellationToken);
        }
        rows += await InsertAsync(to, transaction, table, columns, batch, cancellationToken);
        return rows;
    }

    private static async Task<int> InsertAsync(DbConnection to, DbTransaction transaction, string table, string[] columns, List<object?[]> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
            return 0;
        var sql = new StringBuilder($"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ");
        var parameters = new DynamicParameters();
        for (var row = 0; row < batch.Count; row++)
        {
            sql.Append(row == 0 ? "(" : ", (");
            for (var column = 0; column < columns.Length; column++)
            {
                var name = $"p{row}_{column}";
                sql.Append(column == 0 ? "@" : ", @").Append(name);
                parameters.Add(name, batch[row][column]);
            }
            sql.Append(')');
        }
        var count = await to.ExecuteAsync(new CommandDefinition(sql.ToString(), parameters, transaction, cancellationToken: cancellationToken));
        batch.Clear();
        return count;
    }

    private static async Task<List<string>> TableNamesAsync(Database database, DbConnection connection) =>
        (await connection.QueryAsync<string>(database.Sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'qrtz\\_%'"))).ToList();

    private static async Task<bool> HasIdentityAsync(DbConnection connection, DbTransaction transaction, string table) =>
        await connection.ExecuteScalarAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = @table AND column_name = 'id' AND is_identity = 'YES')",
            new { table }, transaction);
}
