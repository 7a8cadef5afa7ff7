using System.CommandLine;
using Dsoup.Models.Text;

namespace Dsoup.Cli.Commands;

/// <summary>`dsoup tokenize`: CLIP token ids of prompts, and whether they fit the 75 content tokens the text encoder reads.</summary>
internal static class TokenizeCommand
{
    public static Command Create(CliContext context)
    {
        var vocab = new Option<string?>("--vocab") { Description = "Folder with CLIP's vocab.json and merges.txt (default: CLIP's vocabulary built into dsoup)." };
        var texts = new Argument<string[]>("text") { Description = "One or more prompts.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("tokenize", "Print the CLIP token ids of each prompt and its token count (the text encoder reads 75).")
        {
            vocab, texts,
        };
        command.SetAction(result => context.Run(() =>
        {
            ClipTokenizer tokenizer = result.GetValue(vocab) is string folder ? ClipTokenizer.FromFolder(folder) : ClipTokenizer.Embedded();
            foreach (string text in result.GetValue(texts)!)
            {
                IReadOnlyList<int> ids = tokenizer.Tokenize(text);
                int[] all = [ClipTokenizer.StartToken, .. ids, ClipTokenizer.EndToken];
                string note = ids.Count > ClipTokenizer.MaxContentTokens ? $" (over {ClipTokenizer.MaxContentTokens}: the rest is cut)" : "";
                context.Output.WriteLine($"{string.Join(' ', all)}");
                context.Output.WriteLine($"{ids.Count} tokens{note}");
            }
            return 0;
        }));
        return command;
    }
}
