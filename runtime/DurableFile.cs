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
    /// <exception cref="IOException">The file could not be written, moved or flushed.</exception>
    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        if (Directory.Exists(path))
        {
            throw new IOException($"'{path}' is a directory; give the path of the file to write.");
        }

        string temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(contents);
                stream.Flush(flushToDisk: true);
            }

            Replace(temporary, path);
        }
        catch
        {
            File.Delete(temporary); // a failed write leaves the old file (or none), never a stray temporary beside it
            throw;
        }

        if (!OperatingSystem.IsWindows())
        {
            FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
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
