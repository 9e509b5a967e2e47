namespace Embedded.Rnn.PackageTests;

/// <summary>
/// Packs Embedded.Rnn from this checkout into a temporary local feed and creates a new console project that
/// adds it, as a new user does: <c>dotnet new console</c>, a nuget.config that clears every source and lists
/// only the feed (so everything works offline), <c>dotnet add package</c>. A private NuGet packages folder
/// keeps a package of the same version from an earlier run from being used instead of the fresh one.
/// </summary>
public sealed class PackagedConsumer : IDisposable
{
    public PackagedConsumer()
    {
        Root = Path.Combine(Path.GetTempPath(), "embedded-rnn-newuser-" + Guid.NewGuid().ToString("N")[..8]);
        Feed = Path.Combine(Root, "feed");
        Project = Path.Combine(Root, "Gestures");
        Directory.CreateDirectory(Feed);
        // Its own artifacts folder: the pack does not touch the checkout's bin/obj while other tests use them.
        Pack = ProcessRunner.Dotnet(ProcessRunner.RepositoryRoot, "pack", Path.Combine(ProcessRunner.RepositoryRoot, "runtime", "Embedded.Rnn.csproj"),
            "-c", "Release", "-o", Feed, "--artifacts-path", Path.Combine(Root, "artifacts"), "-nologo");
        if (Pack.ExitCode != 0)
        {
            return;
        }

        // The trainer's package too, for the tests that add it (the quick start's project does not), with the packages it
        // depends on: the feed is the consumer's only source.
        PackTraining = ProcessRunner.Dotnet(ProcessRunner.RepositoryRoot, "pack", Path.Combine(ProcessRunner.RepositoryRoot, "training", "Embedded.Rnn.Training.csproj"),
            "-c", "Release", "-o", Feed, "--artifacts-path", Path.Combine(Root, "artifacts"), "-nologo");
        if (PackTraining.ExitCode == 0)
        {
            CopyPackageDependencies(Path.Combine(Root, "artifacts", "obj", "Embedded.Rnn.Training", "project.assets.json"));
        }

        Create = ProcessRunner.Dotnet(Root, "new", "console", "-n", "Gestures", "-o", Project, "--no-restore", "--no-update-check");
        // Embedded.Rnn* come only from the fresh feed. Everything else (the NativeAOT compiler and runtime packs a publish
        // needs) from the machine's packages folder, which NuGet reads as a folder feed, or else from nuget.org.
        File.WriteAllText(Path.Combine(Project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{Feed}" />
                <add key="machine" value="{MachinePackages}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local">
                  <package pattern="Embedded.Rnn*" />
                </packageSource>
                <packageSource key="machine">
                  <package pattern="*" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        Add = Dotnet("add", "package", "Embedded.Rnn", "--version", "0.1.0");
    }

    public string Root { get; }

    // The packages folder of the user running the tests (NuGet's global packages folder).
    private static string MachinePackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public string Feed { get; }

    public string Project { get; }

    public ProcessRunner.Result Pack { get; }

    public ProcessRunner.Result? PackTraining { get; }

    public ProcessRunner.Result? Create { get; }

    public ProcessRunner.Result? Add { get; }

    /// <summary>What set-up printed, for failure messages.</summary>
    public string SetupLog => $"== dotnet pack\n{Pack}\n== dotnet pack (training)\n{PackTraining}\n== dotnet new console\n{Create}\n== dotnet add package\n{Add}";

    public bool Ready => Pack.ExitCode == 0 && Create?.ExitCode == 0 && Add?.ExitCode == 0;

    /// <summary>Runs dotnet in the user's project, with the private packages folder.</summary>
    public ProcessRunner.Result Dotnet(params string[] arguments) =>
        ProcessRunner.Run(Project, "dotnet", arguments, environment: new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(Root, "packages") });

    public ProcessRunner.Result DotnetWithInput(string input, params string[] arguments) =>
        ProcessRunner.Run(Project, "dotnet", arguments, input, new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(Root, "packages") });

    // Copies every NuGet package a restore used (its assets file lists them) from the global packages folder into the feed.
    private void CopyPackageDependencies(string assetsFile)
    {
        using var assets = System.Text.Json.JsonDocument.Parse(File.ReadAllText(assetsFile));
        string packages = assets.RootElement.GetProperty("packageFolders").EnumerateObject().First().Name;
        foreach (var library in assets.RootElement.GetProperty("libraries").EnumerateObject())
        {
            if (library.Value.GetProperty("type").GetString() != "package")
            {
                continue;
            }

            string folder = Path.Combine(packages, library.Value.GetProperty("path").GetString()!);
            string package = Directory.GetFiles(folder, "*.nupkg").Single();
            File.Copy(package, Path.Combine(Feed, Path.GetFileName(package)), overwrite: true);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // a build server may still hold a file; the temp folder is cleaned by the system
        }
    }
}
