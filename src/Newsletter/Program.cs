using Newsletter;
using Newsletter.Cli;

var app = NewsletterApp.Build(args);
return await new NewsletterCli(app, Console.Out, Console.Error).InvokeAsync(args);

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
