using Newsletter;
using Newsletter.Cli;
using Newsletter.Hosting;

MallocArenas.Cap();
WebApplication app;
try
{
    app = NewsletterApp.Build(args);
}
catch (InvalidDataException exception) when (exception.InnerException is not null)
{
    // The host reads appsettings.json before any check of ours runs: one sentence, not a trace.
    Console.Error.WriteLine(ConfigurationFileError.Describe(exception));
    return ExitCodes.InvalidConfiguration;
}
return await new NewsletterCli(app, Console.Out, Console.Error).InvokeAsync(args);

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
