namespace Newsletter.Storage;

/// <summary>
/// What the entries table means beyond its SQL, for every feature that writes or reads it back:
/// how a list is stored in one column, and the lock its writers and the composer share.
/// </summary>
public static class EntryColumns
{
    /// <summary>Authors, one a line (feeds' names are folded to one line before they are stored).</summary>
    public const char AuthorSeparator = '\n';

    /// <summary>The PostgreSQL advisory lock every writer of entries (and the digest composer) takes.</summary>
    public const string WriteLockName = "upsert entries";

    /// <summary>The stored author list as names.</summary>
    public static string[] Authors(string column) => column.Length == 0 ? [] : column.Split(AuthorSeparator);

    /// <summary>A card's keywords as stored (<c>ai_keywords</c>): one a line, as authors are.</summary>
    public static string JoinList(IEnumerable<string> items) => string.Join(AuthorSeparator, items);

    /// <summary>A stored list column (NULL or empty: none) as its items.</summary>
    public static string[] List(string? column) => string.IsNullOrEmpty(column) ? [] : column.Split(AuthorSeparator);
}
