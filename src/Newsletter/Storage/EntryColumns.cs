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
}
