namespace Avatar.Tests.LipSync;

/// <summary>A model file in the temporary folder, deleted when disposed.</summary>
internal sealed class TemporaryFile : IDisposable
{
    public TemporaryFile(byte[] content)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"model-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(Path, content);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
