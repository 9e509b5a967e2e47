using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Embedded.Rnn;

/// <summary>
/// Writes a file so that a power cut leaves either the old or the new content at its path, never a torn or empty file:
/// the bytes go to <c>path.tmp</c>, which is flushed to the disk (fsync), renamed over <c>path</c>, and then the
/// directory is flushed so that the rename itself is on the disk (Linux and other Unix systems). On Windows the rename
/// is made with <c>MOVEFILE_WRITE_THROUGH</c>, which returns only once the move is on the disk. Checkpoints, exported
/// weights and the embedded-rnn tool's output are written this way.
/// </summary>
public static partial class DurableFile
{
    /// <summary>Writes <paramref name="contents"/> to <paramref name="path"/> durably (see the type).</summary>
    /// <param name="path">The file to write or replace; <c>path.tmp</c> is used on the way.</param>
    /// <param name="contents">The file's bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file could not be written, moved or flushed.</exception>
    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        RefuseDirectory(path);
        WriteTemporary(path, contents);
        MoveIntoPlace([path]);
    }

    /// <summary>
    /// Writes files that belong together (a spec and its weights) durably: every file's bytes go to its <c>path.tmp</c>
    /// and are flushed to the disk before any is renamed, so a failed write (a full disk) changes none of them. The renames
    /// follow in the order given, then each directory is flushed once. A power cut between two renames leaves the earlier
    /// files new and the later ones old, each whole: give the file that refers to the others last.
    /// </summary>
    /// <param name="files">Each file to write or replace, with its bytes.</param>
    /// <exception cref="ArgumentException">A path is null or empty, given twice, or another's temporary file.</exception>
    /// <exception cref="IOException">A file could not be written, moved or flushed; the message says which were replaced.</exception>
    public static void WriteAll(IReadOnlyList<(string Path, ReadOnlyMemory<byte> Contents)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        for (int i = 0; i < files.Count; i++)
        {
            ArgumentException.ThrowIfNullOrEmpty(files[i].Path, nameof(files));
            for (int k = 0; k < i; k++)
            {
                // One file's rename would replace another's contents, or its temporary another file.
                if (Replaces(files[i].Path, files[k].Path) || Replaces(files[k].Path, files[i].Path))
                {
                    throw new ArgumentException($"'{files[k].Path}' and '{files[i].Path}' cannot be written together: they are the same file, or one is the other's temporary file.", nameof(files));
                }
            }
        }

        foreach (var (path, _) in files)
        {
            RefuseDirectory(path);
        }

        for (int i = 0; i < files.Count; i++)
        {
            try
            {
                WriteTemporary(files[i].Path, files[i].Contents.Span);
            }
            catch
            {
                for (int k = 0; k < i; k++)
                {
                    File.Delete(files[k].Path + ".tmp");
                }

                throw;
            }
        }

        MoveIntoPlace(files.Select(f => f.Path).ToList());
    }

    /// <summary>
    /// Whether writing <paramref name="path"/> replaces <paramref name="other"/>: they are the same file (by full path, and
    /// without case on Windows and macOS), or <paramref name="other"/> is the temporary file <c>path.tmp</c> the write goes
    /// through.
    /// </summary>
    public static bool Replaces(string path, string other)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        string written = Path.GetFullPath(path), compared = Path.GetFullPath(other);
        return string.Equals(written, compared, comparison) || string.Equals(written + ".tmp", compared, comparison);
    }

    private static void RefuseDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            throw new IOException($"'{path}' is a directory; give the path of the file to write.");
        }
    }

    // path.tmp, flushed to the disk; a failed write deletes it (but not a folder of that name in the way, which the
    // stream could not open), so no stray temporary is left beside the old file. Whatever an earlier write left there is
    // deleted first and the file created new: a symbolic link there is removed, not followed to write its target.
    private static void WriteTemporary(string path, ReadOnlySpan<byte> contents)
    {
        string temporary = path + ".tmp";
        if (!Directory.Exists(temporary))
        {
            File.Delete(temporary);
        }

        var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        try
        {
            using (stream)
            {
                stream.Write(contents);
                stream.Flush(flushToDisk: true);
            }
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    // Renames each path.tmp over its path in order, then flushes each directory once (the renames are on the disk only
    // then). A failed rename deletes the temporaries not yet moved.
    private static void MoveIntoPlace(IReadOnlyList<string> paths)
    {
        int moved = 0;
        try
        {
            for (; moved < paths.Count; moved++)
            {
                Replace(paths[moved] + ".tmp", paths[moved]);
            }
        }
        catch (Exception e)
        {
            foreach (string path in paths.Skip(moved))
            {
                File.Delete(path + ".tmp");
            }

            if (moved == 0 || e is not (IOException or UnauthorizedAccessException))
            {
                throw; // nothing was replaced, or not by a failure of the file system
            }

            throw new IOException($"Replaced {string.Join(", ", paths.Take(moved).Select(p => $"'{p}'"))} but could not move " +
                $"'{paths[moved]}' into place ({e.Message}): they no longer belong together.", e);
        }

        if (!OperatingSystem.IsWindows())
        {
            foreach (string directory in paths.Select(p => Path.GetDirectoryName(Path.GetFullPath(p))!).Distinct(StringComparer.Ordinal))
            {
                FlushDirectory(directory);
            }
        }
    }

    private static void Replace(string temporary, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            if (!MoveFileEx(temporary, path, MoveFileReplaceExisting | MoveFileWriteThrough))
            {
                throw new IOException($"Could not move '{temporary}' to '{path}'.", new Win32Exception(Marshal.GetLastPInvokeError()));
            }

            return;
        }

        File.Move(temporary, path, overwrite: true);
    }

    // .NET cannot open a directory as a file, so this goes to libc: open(O_RDONLY), fsync, close. O_RDONLY is 0 on every
    // Unix (unlike O_DIRECTORY, whose value differs between x64 and Arm64 Linux).
    private static void FlushDirectory(string directory)
    {
        int descriptor = Open(directory, 0);
        if (descriptor < 0)
        {
            throw new IOException($"Could not open the directory '{directory}' to flush the rename (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            // Some file systems cannot flush a directory (EINVAL); the rename is then as durable as they make it.
            if (Fsync(descriptor) != 0 && Marshal.GetLastPInvokeError() is int error && error != EInval)
            {
                throw new IOException($"Could not flush the directory '{directory}' after the rename (errno {error}).");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    private const int EInval = 22;
    private const uint MoveFileReplaceExisting = 0x1;
    private const uint MoveFileWriteThrough = 0x8;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);

    [LibraryImport("kernel32.dll", EntryPoint = "MoveFileExW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool MoveFileEx(string existing, string replacement, uint flags);
}
