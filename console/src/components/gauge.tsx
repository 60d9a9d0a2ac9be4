// A ring gauge: how full something is, in percent, with what it measures in words.
import { percent } from '../format.ts';

const RADIUS = 42;
const CIRCUMFERENCE = 2 * Math.PI * RADIUS;

export function Gauge(props: { readonly label: string; readonly part: number; readonly whole: number; readonly detail: string }) {
  const value = percent(props.part, props.whole);
  const level = value >= 90 ? 'high' : value >= 70 ? 'raised' : 'normal';
  const text = value === 0 ? '0' : value < 0.1 ? '<0.1' : value < 10 ? value.toFixed(1) : String(Math.round(value));
  return (
    <figure class={`gauge gauge-${level}`}>
      <svg viewBox="0 0 100 100" role="img" aria-label={`${props.label}: ${text}%, ${props.detail}`}>
        <circle class="gauge-track" cx="50" cy="50" r={RADIUS} />
        {value > 0 && (
          <circle
            class="gauge-value"
            cx="50"
            cy="50"
            r={RADIUS}
            stroke-dasharray={`${(CIRCUMFERENCE * Math.min(100, value)) / 100} ${CIRCUMFERENCE}`}
            transform="rotate(-90 50 50)"
          />
        )}
        <text x="50" y="57" text-anchor="middle">
          {text}%
        </text>
      </svg>
      <figcaption>
        <strong>{props.label}</strong>
        <span>{props.detail}</span>
      </figcaption>
    </figure>
  );
}
