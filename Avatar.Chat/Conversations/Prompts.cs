using System.Text;
using Avatar.Chat.Llm;

namespace Avatar.Chat.Conversations;

/// <summary>What a model is told about the character, the user and the conversation so far.</summary>
internal static class Prompts
{
    private static readonly Dictionary<string, string> s_kinds = new(StringComparer.Ordinal)
    {
        ["tarot"] = "a tarot reader. You draw cards from a real 78-card deck and read them for the user's question",
        ["custom_chat"] = "a conversational companion",
        ["blind_date"] = "a blind date and dating coach. You ask questions back and react warmly to what the user shares",
        ["concierge"] = "a personal concierge. You answer from what you know about the user, and say so when you do not know",
    };

    public static LlmRequest Build(ChatSession session, IReadOnlyList<StoredMessage> history, IReadOnlyList<string> facts)
    {
        var system = new StringBuilder()
            .Append("You are ").Append(session.CharacterName).Append(", ")
            .Append(s_kinds.GetValueOrDefault(session.Kind, "a conversational companion")).Append(". ")
            .Append(session.Persona).AppendLine()
            // The answer is spoken by a text-to-speech voice and moves a face: plain short sentences read best.
            .AppendLine("Answer in two to five short spoken sentences: no markdown, no lists, no emojis.");
        if (facts.Count > 0)
        {
            system.AppendLine("What you know about the user from earlier conversations:");
            foreach (var fact in facts)
            {
                system.Append("- ").AppendLine(fact);
            }
        }
        var messages = new List<LlmMessage> { new(LlmRole.System, system.ToString()) };
        messages.AddRange(history.Select(m => new LlmMessage(m.Role == "user" ? LlmRole.User : LlmRole.Assistant, m.Text)));
        return new LlmRequest(messages)
        {
            Character = new CharacterContext(session.Id, session.CharacterName, session.Kind, session.Persona, facts,
                Turn: history.Count(m => m.Role == "user") - 1),
        };
    }
}
