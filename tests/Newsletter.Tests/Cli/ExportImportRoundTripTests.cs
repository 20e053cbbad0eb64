using Dapper;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary>
/// <c>subscribers import</c> of what <c>subscribers export</c> wrote gives the same readers back:
/// the formula guard's leading <c>'</c> comes off again, in the address and in every preference column.
/// </summary>
public sealed class ExportImportRoundTripTests : IAsyncLifetime
{
    private readonly TestHost _from = new();
    private readonly TestHost _to = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _from.DisposeAsync();
        await _to.DisposeAsync();
    }

    private const string Columns = "email, topics, keywords, exclude_keywords, authors, min_score, time_zone, send_hour, weekdays, cadence, weekly_day";

    private static async Task<List<string>> ReadersAsync(TestHost host)
    {
        await using var connection = await host.OpenAsync();
        var rows = await connection.QueryAsync($"SELECT {Columns} FROM subscribers ORDER BY id");
        return rows.Select(row => string.Join(" | ", ((IDictionary<string, object?>)row).Values.Select(v => v?.ToString() ?? "NULL"))).ToList();
    }

    [Fact]
    public async Task ValuesTheGuardQuotedReadBackAsTheyWere()
    {
        // Values a spreadsheet would run as formulas, in the address and in preference columns
        // (written as an operator's own list would be, unguarded; a command line cannot take "-grace@").
        var list = Path.Combine(_from.Directory, "list.csv");
        await File.WriteAllTextAsync(list, "email,topics,keywords,exclude,authors,minScore,timeZone,sendHour,weekdays,cadence,weeklyDay\n"
            + "=ada@example.org,,\"=1+2,+plus,-minus,@home,'tis\",-survey,\"@ada,'Grace Hopper'\",,,,,,\n"
            + "-grace@example.org,cs.LG,,,,10,Asia/Tokyo,8,Mon-Fri,weekly,Sat\n"
            + "+carl@example.org,,,,,,,,,,\n"
            + "'dora@example.org,,'tis,,,,,,,,\n");
        Assert.Contains("4 added", (await _from.RunAsync("subscribers", "import", list, "--confirmed")).Output);

        var export = await _from.RunAsync("subscribers", "export");
        var csv = Path.Combine(_to.Directory, "export.csv");
        await File.WriteAllTextAsync(csv, export.Output);
        var import = await _to.RunAsync("subscribers", "import", csv, "--confirmed");

        // The export is guarded (so the test is about the guard), and the import undoes it exactly.
        Assert.Contains("\n'=ada@example.org,", export.Output);
        Assert.Contains("\n'-grace@example.org,", export.Output);
        Assert.Contains("\n'+carl@example.org,", export.Output);
        Assert.Contains("\n''dora@example.org,", export.Output);
        Assert.Contains("\"'=1+2, +plus, -minus, @home, 'tis\"", export.Output);
        Assert.Contains(",'-survey,", export.Output);
        Assert.Contains(",\"'@ada, 'Grace Hopper'\",", export.Output);
        Assert.Contains(",''tis,", export.Output);
        Assert.True(import.Exit == 0, import.ToString());
        Assert.Contains("4 added, 0 activated, 0 already present, 0 invalid rows skipped", import.Output);
        Assert.Equal(await ReadersAsync(_from), await ReadersAsync(_to));
        Assert.StartsWith("=ada@example.org | ", (await ReadersAsync(_to))[0]);
        Assert.Contains("=1+2\n+plus\n-minus\n@home\n'tis", (await ReadersAsync(_to))[0]);
        Assert.Equal(export.Output.Split('\n').Select(DropTimes), (await _to.RunAsync("subscribers", "export")).Output.Split('\n').Select(DropTimes));
    }

    /// <summary>A line without its created_at and confirmed_at columns (the import is a new subscription).</summary>
    private static string DropTimes(string line) =>
        System.Text.RegularExpressions.Regex.Replace(line, @"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME");
}
