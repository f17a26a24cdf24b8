import { useMemo, useRef, useState } from 'preact/hooks';
import type { FormatterError, FormatterSuspension, NetworkName, ProfileSettings } from '../../api/types.js';
import { CodeEditor, type EditorHandle, type EditorMark } from '../../components/CodeEditor.js';
import { useApp } from '../../lib/app-context.js';
import { useLoad } from '../../lib/use-load.js';
import { constraintsOf, type JsonSchema } from '../../schema/json-schema.js';
import { FormatterTestPanel } from './FormatterTestPanel.js';
import { SettingsFields } from './SettingsFields.js';
import { SuspensionNote, where } from './SuspensionNote.js';

type Formatter = ProfileSettings['formatter'];

/** Why the last save was refused, for the script it was refused for. */
export interface ScriptProblem {
  script: string;
  message: string;
  line?: number;
  column?: number;
}

interface Props {
  appId: string;
  /** The profile's network: the test tool's input is that network's uplink report. */
  network: NetworkName;
  schema: JsonSchema;
  fPortSchema: JsonSchema;
  value: Formatter;
  onChange(value: Formatter): void;
  problems: Record<string, string>;
  saveProblem: ScriptProblem | null;
  /** Suspended formatters this profile runs (still in force). */
  suspensions: FormatterSuspension[];
  /** The Default profile: its suspensions are of applications without a profile. */
  isDefault: boolean;
}

export function PayloadProcessing({ appId, network, schema, fPortSchema, value, onChange, problems, saveProblem, suspensions, isDefault }: Props) {
  const { api } = useApp();
  const templates = useLoad(api.templates, [api]);
  const [templateId, setTemplateId] = useState('');
  const [templateNote, setTemplateNote] = useState<string | null>(null);
  const [testErrors, setTestErrors] = useState<{ script: string; errors: FormatterError[] }>({ script: '', errors: [] });
  const editor = useRef<EditorHandle | null>(null);

  // Marks belong to the script they were found in; any edit clears them.
  const refused = saveProblem && saveProblem.script === value.script ? saveProblem : null;
  const marks = useMemo<EditorMark[]>(() => {
    const out: EditorMark[] = [];
    if (refused?.line !== undefined) out.push({ line: refused.line, ...(refused.column !== undefined ? { column: refused.column } : {}), message: refused.message });
    if (testErrors.script === value.script) {
      for (const e of testErrors.errors) {
        if (e.line !== undefined) out.push({ line: e.line, ...(e.column !== undefined ? { column: e.column } : {}), message: `${e.kind}: ${e.message}` });
      }
    }
    return out;
  }, [refused, testErrors, value.script]);

  const loadTemplate = () => {
    const t = templates.data?.find((x) => x.id === templateId);
    if (!t) return;
    onChange({ ...value, type: t.type, script: t.script });
    setTemplateNote(`Loaded “${t.name}” (${t.type}). Save to keep it; Ctrl+Z in the editor brings the previous script back.`);
  };

  const scriptSchema = schema.properties?.script ?? {};
  const usesScript = value.type === 'javascript';

  return (
    <div class="payload-grid">
      {suspensions.length > 0 && <SuspensionNote suspensions={suspensions} isDefault={isDefault} />}
      <section class="card" aria-labelledby="formatter-title">
        <header class="card-header">
          <h2 id="formatter-title">Formatter</h2>
          <p class="hint">Thinger style (module.exports.uplink / downlink) or TTS style (decodeUplink / encodeDownlink) JavaScript.</p>
        </header>
        <div class="formatter-toolbar">
          <SettingsFields schema={schema} value={value} path="/formatter" problems={problems} only={['type', 'timeout_ms']} inline onChange={(v) => onChange(v as Formatter)} />
          <div class="template-pick">
            <label class="field-label" for="template">
              Start from a template
            </label>
            <div class="template-controls">
              <select id="template" value={templateId} onChange={(e) => setTemplateId(e.currentTarget.value)} disabled={!templates.data}>
                <option value="">{templates.error ? 'Templates unavailable' : 'Choose a template…'}</option>
                {templates.data?.map((t) => (
                  <option key={t.id} value={t.id} title={t.description}>
                    {t.name}
                  </option>
                ))}
              </select>
              <button type="button" class="btn" disabled={!templateId} onClick={loadTemplate}>
                Load
              </button>
            </div>
            {templateId && <p class="hint">{templates.data?.find((t) => t.id === templateId)?.description}</p>}
          </div>
        </div>
        {templateNote && (
          <p class="notice" role="status">
            {templateNote}
          </p>
        )}
        {refused && (
          <div class="error-note" role="alert">
            <strong>Not saved: the script does not compile.</strong> {refused.message}
            {where(refused.line, refused.column)}
            {refused.line !== undefined && (
              <button type="button" class="link" onClick={() => editor.current?.reveal(refused.line ?? 1, refused.column)}>
                Show line
              </button>
            )}
          </div>
        )}
        <div class="editor-label">
          <span class="field-label">Script</span>
          <span class="constraints">{constraintsOf(scriptSchema)}</span>
        </div>
        {!usesScript && <p class="notice">The {value.type} formatter does not run the script; it is kept for when you switch back to javascript.</p>}
        <CodeEditor
          value={value.script}
          onChange={(script) => onChange({ ...value, script })}
          language="javascript"
          label="Formatter script"
          size="tall"
          marks={marks}
          handle={editor}
        />
        {problems['/formatter/script'] && <p class="field-error">Script {problems['/formatter/script']}</p>}
      </section>
      <FormatterTestPanel
        // Another network's profile starts from that network's sample.
        key={network}
        appId={appId}
        network={network}
        formatter={value}
        fPortSchema={fPortSchema}
        onErrors={(errors) => setTestErrors({ script: value.script, errors })}
        onReveal={(line, column) => editor.current?.reveal(line, column)}
      />
    </div>
  );
}
