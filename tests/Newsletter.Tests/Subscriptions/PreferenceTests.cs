using System.Net.Http.Json;
using System.Net;
using System.Text.Json;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>Parsing and matching of preferences, by their text forms of the contract.</summary>
public sealed class PreferenceParsingTests
{
    private static Preferences Parse(PreferenceInput input)
    {
        Assert.True(PreferenceParser.TryApply(Preferences.None, input, out var result, out var problems), string.Join("; ", problems));
        return result;
    }

    [Theory]
    [InlineData("Mon-Fri", "Mon,Tue,Wed,Thu,Fri")]
    [InlineData("Mon,Wed,Fri", "Mon,Wed,Fri")]
    [InlineData("fri-mon", "Mon,Fri,Sat,Sun")]
    [InlineData("Saturday, sun", "Sat,Sun")]
    [InlineData("all", "all")]
    public void WeekdaysReadAsTheContractWritesThem(string text, string expected)
    {
        var days = Parse(new PreferenceInput { Weekdays = [text] }).Days;
        Assert.Equal(expected, days?.ToString() ?? "all");
    }

    [Fact]
    public void KeywordListsKeepQuotedPhrasesWhole()
    {
        Assert.Equal(["diffusion", "large language", "a, b"], PreferenceParser.SplitList("diffusion, \"large language\",\"a, b\""));
    }

    [Fact]
    public void EveryBadFieldIsNamed()
    {
        Assert.False(PreferenceParser.TryApply(Preferences.None, new PreferenceInput
        {
            Topics = ["cs.LG", "<script>"],
            MinScore = "-3",
            TimeZone = "Mars/Base",
            SendHour = "24",
            Weekdays = ["Mon-Funday"],
            Cadence = "hourly",
            WeeklyDay = "Caturday",
        }, out var unchanged, out var problems));
        Assert.Equal(["cadence", "minScore", "sendHour", "timeZone", "topics", "weekdays", "weeklyDay"], problems.Keys.Order());
        Assert.Same(Preferences.None, unchanged);
    }

    [Fact]
    public void AnEmptyTextResetsAField()
    {
        var set = Parse(new PreferenceInput { TimeZone = "Asia/Tokyo", SendHour = "8", Topics = ["cs.CV"] });
        Assert.True(PreferenceParser.TryApply(set, new PreferenceInput { TimeZone = "", SendHour = "" }, out var reset, out _));
        Assert.Null(reset.TimeZone);
        Assert.Null(reset.SendHour);
        Assert.Equal(["cs.CV"], reset.Topics);
    }

    private static CandidatePaper Paper(string title, string summary = "An abstract.", string[]? authors = null, string[]? categories = null, int score = 0, string source = "arxiv") =>
        new(1, title, summary, authors ?? ["A. Person"], "https://arxiv.org/abs/2510.00001", score, null, source, categories ?? [], [source], 0);

    [Theory]
    [InlineData("Diffusion models for video", true)]
    [InlineData("Latent DIFFUSION, revisited", true)]
    [InlineData("Diffusions and diffusive flows", false)]
    [InlineData("Confusion matrices", false)]
    public void KeywordsMatchWholeWordsIgnoringCase(string title, bool expected)
    {
        var filter = new PaperFilter(Parse(new PreferenceInput { Keywords = ["diffusion"] }));
        Assert.Equal(expected, filter.Matches(Paper(title), out _));
    }

    [Fact]
    public void PhrasesMatchAcrossLineBreaksButNotOutOfOrder()
    {
        var filter = new PaperFilter(Parse(new PreferenceInput { Keywords = ["large language"] }));
        Assert.True(filter.Matches(Paper("Tuning", "We tune large\n  language models."), out var why));
        Assert.Equal("matches \u201clarge language\u201d", why);
        Assert.False(filter.Matches(Paper("Language, large and small"), out _));
    }

    [Fact]
    public void TopicsMatchCategoriesArchivesAndSourceNames()
    {
        var filter = new PaperFilter(Parse(new PreferenceInput { Topics = ["cs.CV", "stat", "hf"] }));
        Assert.True(filter.Matches(Paper("A", categories: ["cs.CV"], score: 42), out var why));
        Assert.Equal("in cs.CV \u00b7 42 upvotes", why);
        Assert.True(filter.Matches(Paper("B", categories: ["stat.ML"]), out why));
        Assert.Equal("in stat.ML", why);
        Assert.True(filter.Matches(Paper("C", source: "hf"), out why));
        Assert.Equal("from hf", why);
        Assert.False(filter.Matches(Paper("D", categories: ["cs.LG"]), out _));
    }

    [Fact]
    public void FollowedAuthorsAreInWhateverElseAndExclusionsStillApply()
    {
        var filter = new PaperFilter(Parse(new PreferenceInput { Topics = ["cs.CV"], Authors = ["ada lovelace"], MinScore = "10", Exclude = ["survey"] }));
        Assert.True(filter.Matches(Paper("Engines", authors: ["Ada  Lovelace"], categories: ["math.HO"]), out var why));
        Assert.Equal("by Ada  Lovelace", why);
        Assert.False(filter.Matches(Paper("A survey of engines", authors: ["Ada Lovelace"]), out _));
        Assert.False(filter.Matches(Paper("Vision", categories: ["cs.CV"], score: 9), out _));
        Assert.True(filter.Matches(Paper("Vision", categories: ["cs.CV"], score: 10), out _));
    }

    [Fact]
    public void NoPreferencesMeanEveryPaperAndNoReason()
    {
        var filter = new PaperFilter(Preferences.None);
        Assert.True(filter.Matches(Paper("Anything", score: 5), out var why));
        Assert.Equal("", why);
    }

    [Fact]
    public void ASendHourTheClocksSkipIsSentAtTheEndOfTheGapAndARepeatedOneAtItsFirstOccurrence()
    {
        var sydney = TimeZoneInfo.FindSystemTimeZoneById("Australia/Sydney");
        Assert.Equal(new DateTimeOffset(2025, 10, 5, 3, 0, 0, TimeSpan.FromHours(11)), ReaderClock.SendInstant(sydney, new DateOnly(2025, 10, 5), 2, 30));
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        Assert.Equal(new DateTimeOffset(2025, 10, 26, 2, 30, 0, TimeSpan.FromHours(2)), ReaderClock.SendInstant(berlin, new DateOnly(2025, 10, 26), 2, 30));
    }
}

/// <summary>Preferences through the operator's verbs and the web front's JSON.</summary>
public sealed class PreferenceAdministrationTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Fact]
    public async Task AddAndSetTakeEveryPreferenceOptionAndExportReadsBackAsImport()
    {
        var add = await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed", "--topics", "cs.LG,cs.CV",
            "--keywords", "diffusion,\"large language\"", "--exclude", "survey,benchmark", "--authors", "Ada Lovelace", "--min-score", "10",
            "--time-zone", "Asia/Tokyo", "--send-hour", "8", "--weekdays", "Mon-Fri", "--cadence", "daily");
        Assert.Equal(0, add.Exit);
        var set = await _host.RunAsync("subscribers", "set", "ada@example.org", "--cadence", "weekly", "--weekly-day", "Sun", "--min-score", "");
        Assert.Equal(0, set.Exit);
        Assert.Contains("Preferences of ada@example.org: topics cs.LG,cs.CV; keywords diffusion, \"large language\"; exclude survey, benchmark; authors Ada Lovelace; weekly on Sun; at 08:00; Asia/Tokyo", set.Output);

        var export = await _host.RunAsync("subscribers", "export");
        var csv = Path.Combine(_host.Directory, "export.csv");
        await File.WriteAllTextAsync(csv, export.Output.Replace("ada@example.org", "grace@example.org"));
        var import = await _host.RunAsync("subscribers", "import", csv, "--confirmed");

        Assert.Contains("1 added", import.Output);
        Assert.Equal(
            await _host.QueryScalarAsync<string>("SELECT topics || '|' || keywords || '|' || exclude_keywords || '|' || authors || '|' || time_zone || '|' || send_hour || '|' || weekdays || '|' || cadence || '|' || weekly_day FROM subscribers WHERE email = 'ada@example.org'"),
            await _host.QueryScalarAsync<string>("SELECT topics || '|' || keywords || '|' || exclude_keywords || '|' || authors || '|' || time_zone || '|' || send_hour || '|' || weekdays || '|' || cadence || '|' || weekly_day FROM subscribers WHERE email = 'grace@example.org'"));
    }

    [Fact]
    public async Task ABadPreferenceIsRefusedNamingTheOptionAndNothingIsStored()
    {
        var result = await _host.RunAsync("subscribers", "add", "ada@example.org", "--time-zone", "Mars/Base", "--send-hour", "25");

        Assert.Equal(1, result.Exit);
        Assert.Contains("--time-zone: 'Mars/Base' is not a known IANA time zone", result.Error);
        Assert.Contains("--send-hour: '25' is not an hour from 0 to 23", result.Error);
        Assert.Equal("", (await _host.RunAsync("subscribers", "list")).Output);
        var unknown = await _host.RunAsync("subscribers", "set", "nobody@example.org", "--topics", "cs.LG");
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("nobody@example.org is not a subscriber", unknown.Error);
    }

    [Fact]
    public async Task ImportReadsPreferenceColumnsAndSkipsARowWithABadOne()
    {
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllTextAsync(csv, "email,topics,keywords,timeZone,sendHour,weekdays,cadence\n"
            + "ada@example.org,\"cs.LG,cs.CV\",\"diffusion,\"\"large language\"\"\",Europe/Berlin,6,Mon-Fri,daily\n"
            + "bad@example.org,,,Nowhere/Land,,,\n"
            + "grace@example.org,,,,,,weekly\n");

        var result = await _host.RunAsync("subscribers", "import", csv, "--confirmed");

        Assert.Contains("2 added, 0 activated, 0 already present, 1 invalid rows skipped", result.Output);
        Assert.Contains("list.csv:3: skipped 'bad@example.org': timeZone: 'Nowhere/Land' is not a known IANA time zone", result.Error);
        Assert.Equal("diffusion\nlarge language", await _host.QueryScalarAsync<string>("SELECT keywords FROM subscribers WHERE email = 'ada@example.org'"));
        Assert.Equal(62L, await _host.QueryScalarAsync<long>("SELECT weekdays FROM subscribers WHERE email = 'ada@example.org'"));
        Assert.Equal("weekly", await _host.QueryScalarAsync<string>("SELECT cadence FROM subscribers WHERE email = 'grace@example.org'"));
    }

    [Fact]
    public async Task JsonSubscribeAndPreferencesTakeTheContractFields()
    {
        _host.UseSmtp(_smtp.Port);
        var baseUrl = await _host.StartServiceAsync();
        using var client = new FormClient(baseUrl);

        var subscribe = await client.Http.PostAsJsonAsync("/subscribe", new
        {
            email = "ada@example.org", topics = new[] { "cs.CV" }, keywords = new[] { "diffusion" }, exclude = new[] { "survey" },
            authors = new[] { "Ada Lovelace" }, minScore = 5, timeZone = "Asia/Tokyo", sendHour = 8, weekdays = new[] { "Mon", "Wed" },
            cadence = "daily",
        });
        Assert.Equal(HttpStatusCode.Accepted, subscribe.StatusCode);
        var bad = await client.Http.PostAsJsonAsync("/subscribe", new { email = "grace@example.org", sendHour = 30, timeZone = "Mars/Base" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("sendHour", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("timeZone", out _));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE email = 'grace@example.org'"));

        var id = await _host.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var token = _host.Service<LinkTokens>().Create(TokenPurpose.Preferences, id);
        var update = await client.Http.PostAsJsonAsync("/preferences?token=" + token, new { cadence = "weekly", weeklyDay = "Sun", keywords = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        var saved = await update.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("weekly", saved.GetProperty("cadence").GetString());
        Assert.Equal("Sun", saved.GetProperty("weeklyDay").GetString());
        Assert.Equal(0, saved.GetProperty("keywords").GetArrayLength());
        Assert.Equal("cs.CV", saved.GetProperty("topics")[0].GetString());
        Assert.Equal("Asia/Tokyo", saved.GetProperty("timeZone").GetString());
        Assert.Equal(["Mon", "Wed"], saved.GetProperty("weekdays").EnumerateArray().Select(d => d.GetString()));
        var forged = await client.Http.PostAsJsonAsync("/preferences?token=" + token + "x", new { cadence = "daily" });
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
    }
}

/// <summary>Categories of Hugging Face papers looked up at a fake arXiv API on 127.0.0.1.</summary>
public sealed class ArxivCategoryTests : IAsyncLifetime
{
    private FixtureServer _feeds = null!;
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        _feeds.Serve("/hf", "hf_daily_papers.json");
        _host.UseSources(("hf", "HuggingFaceDaily", _feeds.Url("/hf")));
        _host.Set("Newsletter:ArxivApiUrl", _feeds.Url("/api/query"));
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _feeds.DisposeAsync();
    }

    [Fact]
    public async Task AFailedLookupIsRetriedNextRunAndThenAskedNoMore()
    {
        _feeds.Files["/api/query"] = null; // HTTP 500
        await _host.RunAsync("subscribers", "add", "cl@example.org", "--confirmed", "--topics", "cs.CL");
        await _host.RunAsync("subscribers", "add", "all@example.org", "--confirmed");
        await _host.RunAsync("collect");
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM entries WHERE categories_checked = 1"));
        var draft = await _host.RunAsync("preview", "--email", "cl@example.org", "--out", Path.Combine(_host.Directory, "p1"));
        // Nothing would be sent to cl@ yet: the preview says why instead of writing an empty digest.
        Assert.Contains("No digest would be sent to cl@example.org now: none of the 2 new papers matched the reader's preferences", draft.Output);

        _feeds.Serve("/api/query", "arxiv_api_query.xml");
        await _host.RunAsync("collect");

        Assert.Equal("cs.CL cs.AI", await _host.QueryScalarAsync<string>("SELECT categories FROM entries WHERE canonical_id = 'arxiv:2509.04664'"));
        // Not known to this answer: stored without categories, so it is not asked about again.
        Assert.Equal(2L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM entries WHERE categories_checked = 1"));
        var queries = _feeds.Requests.Count(r => r.Path == "/api/query");
        await _host.RunAsync("collect");
        Assert.Equal(queries, _feeds.Requests.Count(r => r.Path == "/api/query"));
        var preview = await _host.RunAsync("preview", "--email", "cl@example.org", "--out", Path.Combine(_host.Directory, "p2"));
        Assert.Contains("(1 entry)", preview.Output);
    }
}
