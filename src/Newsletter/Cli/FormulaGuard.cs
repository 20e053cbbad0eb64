namespace Newsletter.Cli;

/// <summary>
/// The CSV formula guard of <c>subscribers export</c>, and its inverse for <c>import</c>. A field such
/// as <c>=cmd|'/c calc'!A1</c> runs as a formula when the export is opened in a spreadsheet, so a
/// field starting with <c>= + - @</c>, tab or CR gets a leading <c>'</c> (which spreadsheets show as
/// text). A field that starts with <c>'</c> itself gets one too, so that import can take exactly one
/// off again: every value reads back as it was written.
/// </summary>
internal static class FormulaGuard
{
    private const char Quote = '\'';

    private static bool Guarded(char first) => first is '=' or '+' or '-' or '@' or '\t' or '\r' or Quote;

    public static string Add(string field) => field.Length > 0 && Guarded(field[0]) ? Quote + field : field;

    public static string Remove(string field) => field.Length > 1 && field[0] == Quote && Guarded(field[1]) ? field[1..] : field;
}
