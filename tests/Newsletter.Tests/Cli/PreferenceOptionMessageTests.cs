using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary>A bad preference option is refused with what is wrong with that option, one line each, and nothing is stored.</summary>
public sealed class PreferenceOptionMessageTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("--time-zone", "Mars/Olympus", "--time-zone: 'Mars/Olympus' is not a known IANA time zone (e.g. Europe/Berlin).")]
    [InlineData("--time-zone", "Europe/Berln", "--time-zone: 'Europe/Berln' is not a known IANA time zone; did you mean 'Europe/Berlin'?")]
    [InlineData("--send-hour", "25", "--send-hour: '25' is not an hour from 0 to 23 (e.g. 8 for 08:00).")]
    [InlineData("--min-score", "lots", "--min-score: 'lots' is not a whole number from 0 to 1000000 (e.g. 10).")]
    [InlineData("--weekdays", "Mon-Funday", "--weekdays: 'Mon-Funday' is not a range of days such as Mon-Fri.")]
    [InlineData("--cadence", "hourly", "--cadence: 'hourly' is neither daily nor weekly.")]
    [InlineData("--weekly-day", "Caturday", "--weekly-day: 'Caturday' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun.")]
    [InlineData("--topics", "cs.XX", "--topics: 'cs.XX' is neither an arXiv category nor a source name; did you mean 'cs.AI'?")]
    public async Task AddSaysWhatIsWrongWithTheOption(string option, string value, string message)
    {
        var result = await _host.RunAsync("subscribers", "add", "x@example.org", "--confirmed", option, value);

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Equal(message, result.Error.Trim());
        Assert.Equal("", (await _host.RunAsync("subscribers", "list")).Output);
    }

    [Fact]
    public async Task SetNamesEveryBadOptionAndChangesNothing()
    {
        await _host.RunAsync("subscribers", "add", "x@example.org", "--confirmed", "--send-hour", "7");

        var result = await _host.RunAsync("subscribers", "set", "x@example.org", "--time-zone", "Mars/Olympus", "--send-hour", "24", "--topics", "cs.LG,cs.XX");

        Assert.Equal(1, result.Exit);
        Assert.Equal(
        [
            "--topics: 'cs.XX' is neither an arXiv category nor a source name; did you mean 'cs.AI'?",
            "--time-zone: 'Mars/Olympus' is not a known IANA time zone (e.g. Europe/Berlin).",
            "--send-hour: '24' is not an hour from 0 to 23 (e.g. 8 for 08:00).",
        ], result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal(7L, await _host.QueryScalarAsync<long>("SELECT send_hour FROM subscribers"));
    }

    [Fact]
    public async Task TopicsMayBeArxivArchivesCategoriesInAnyCaseOrConfiguredSourceNames()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", "file:///nonexistent/hf.json"), ("journal", "Rss", "file:///nonexistent/journal.xml"));

        var result = await _host.RunAsync("subscribers", "add", "x@example.org", "--confirmed", "--topics", "cs.lg,stat,hep-th,cond-mat.mes-hall,HF,journal");

        Assert.True(result.Exit == 0, result.ToString());
        var unknown = await _host.RunAsync("subscribers", "set", "x@example.org", "--topics", "jurnal");
        Assert.Equal("--topics: 'jurnal' is neither an arXiv category nor a source name; did you mean 'journal'?", unknown.Error.Trim());
        var far = await _host.RunAsync("subscribers", "set", "x@example.org", "--topics", "underwater basket weaving");
        Assert.Equal("--topics: 'underwater basket weaving' is neither an arXiv category (such as cs.LG) nor a source name (hf, journal).", far.Error.Trim());
    }

    [Fact]
    public async Task ImportSkipsARowWithAnUnknownTopicSayingWhy()
    {
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllTextAsync(csv, "email,topics,timeZone\nada@example.org,cs.LG,\ngrace@example.org,cs.XX,Mars/Olympus\n");

        var result = await _host.RunAsync("subscribers", "import", csv, "--confirmed");

        Assert.Contains("1 added, 0 activated, 0 already present, 1 invalid rows skipped", result.Output);
        Assert.Contains("list.csv:3: skipped 'grace@example.org': topics: 'cs.XX' is neither an arXiv category nor a source name; did you mean 'cs.AI'? "
            + "timeZone: 'Mars/Olympus' is not a known IANA time zone (e.g. Europe/Berlin).", result.Error);
    }
}
